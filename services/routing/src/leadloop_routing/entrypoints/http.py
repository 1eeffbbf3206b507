"""Routing's HTTP API: routes only translate a request into a command for its handler."""

from __future__ import annotations

from fastapi import APIRouter

from leadloop_routing.entrypoints import connector_http, reps, webhooks

router = APIRouter()
router.include_router(reps.router)
router.include_router(webhooks.router)
router.include_router(connector_http.router)
