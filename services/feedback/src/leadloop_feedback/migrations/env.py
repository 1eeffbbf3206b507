from leadloop_db.migrate import run_env
from leadloop_feedback.adapters.tables import metadata

run_env(metadata)
