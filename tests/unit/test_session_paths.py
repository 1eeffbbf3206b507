"""A dashboard session reads one lead's journey (linked from the dashboard), never the lead."""

from __future__ import annotations

import pytest

from leadloop_platform.auth.sessions import allows_path


@pytest.mark.parametrize(
    "path", ["/dashboard", "/v1/reports/funnel", "/v1/reviews/weekly", "/v1/leads/lead-1/journey"]
)
def test_a_session_reads_the_dashboard_reports_reviews_and_a_journey(path: str) -> None:
    assert allows_path(path)


@pytest.mark.parametrize(
    "path",
    [
        "/v1/leads/lead-1",
        "/v1/leads/",
        "/v1/leads/lead-1/journey/extra",
        "/v1/leads/a/b/journey",
        "/v1/leads//journey",
        "/v1/leads/../journey",
        "/v1/leads/lead-1/journeys",
        "/v1/leads/lead-1/journey/",
    ],
)
def test_a_session_reads_no_lead_and_nothing_beside_the_journey(path: str) -> None:
    assert not allows_path(path)
