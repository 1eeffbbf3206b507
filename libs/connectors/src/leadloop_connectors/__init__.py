"""Clients of the systems where marketing and sales work (HubSpot, Salesforce, Slack): thin
calls on their documented REST endpoints through the outbound guard, with their token flows,
rate limits and signatures."""
