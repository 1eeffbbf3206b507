"""The demo's sample data: companies, people, titles, sources, campaigns, forms and activity,
with the weights the traffic simulator draws them by."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Company:
    name: str
    domain: str
    industry: str
    size: int
    country: str


COMPANIES = (
    Company("ACME Dental", "acme-dental.example", "healthcare", 240, "US"),
    Company("Globex Logistics", "globex-logistics.example", "logistics", 5200, "DE"),
    Company("Initech Software", "initech.example", "software", 850, "US"),
    Company("Umbrella Biotech", "umbrella-bio.example", "biotech", 1900, "GB"),
    Company("Nordlicht Energie", "nordlicht.example", "energy", 410, "DE"),
    Company("Soylent Foods", "soylent-foods.example", "food_and_beverage", 3100, "NL"),
    Company("Hooli Cloud", "hooli.example", "software", 12000, "US"),
    Company("Maison Rivoli", "maison-rivoli.example", "retail", 65, "FR"),
    Company("Kaizen Robotics", "kaizen-robotics.example", "manufacturing", 730, "JP"),
    Company("Vandelay Industries", "vandelay.example", "manufacturing", 18, "CA"),
    Company("Pied Piper", "piedpiper.example", "software", 35, "US"),
    Company("Stark Analytics", "stark-analytics.example", "financial_services", 2600, "GB"),
)
FIRST_NAMES = (
    "Ada",
    "Grace",
    "Linus",
    "Margaret",
    "Alan",
    "Katherine",
    "Dennis",
    "Barbara",
    "Ken",
    "Frances",
    "Tim",
    "Radia",
    "Sophie",
    "Jonas",
    "Aiko",
    "Mateo",
    "Priya",
    "Lars",
)
LAST_NAMES = (
    "Lovelace",
    "Hopper",
    "Torvalds",
    "Hamilton",
    "Turing",
    "Johnson",
    "Ritchie",
    "Liskov",
    "Thompson",
    "Allen",
    "Berners-Lee",
    "Perlman",
    "Wilson",
    "Becker",
    "Tanaka",
    "Garcia",
)
TITLES = (
    ("VP Marketing", 3),
    ("Head of Demand Generation", 3),
    ("Marketing Operations Manager", 4),
    ("Director of Sales", 3),
    ("Chief Revenue Officer", 1),
    ("CTO", 1),
    ("IT Manager", 2),
    ("Revenue Operations Analyst", 3),
    ("Office Manager", 1),
    ("Student", 1),
    ("Intern", 1),
)
SOURCES = (
    ("organic", 5),
    ("paid_search", 4),
    ("webinar", 2),
    ("referral", 2),
    ("event", 1),
    ("social", 2),
    ("email", 2),
)
CAMPAIGNS = (
    "2025-q3-revops-webinar",
    "2025-q3-pipeline-ebook",
    "brand-search-always-on",
    "trade-show-saastr-2025",
    "partner-referral-program",
    "nurture-mql-recycle",
)
FORMS = (
    ("contact-us", "/contact"),
    ("ebook-download", "/resources/pipeline-playbook"),
    ("webinar-registration", "/webinars/closing-the-loop"),
    ("demo-request", "/demo"),
    ("free-trial", "/trial"),
    ("newsletter", "/blog"),
)
ACTIVITIES = (
    ("page_view", 30),
    ("pricing_page_view", 6),
    ("email_open", 20),
    ("email_click", 8),
    ("content_download", 6),
    ("webinar_registered", 3),
    ("webinar_attended", 2),
    ("demo_request", 1),
    ("free_trial_signup", 1),
    ("contact_sales_request", 1),
    ("unsubscribe", 1),
)
MAX_PEOPLE = 5000
PERSON_FIELDS = (
    "email",
    "first_name",
    "last_name",
    "company",
    "job_title",
    "company_size",
    "industry",
    "country",
)
PAGES = ("/", "/product", "/pricing", "/customers", "/blog/lead-scoring-101", "/integrations")
