from leadloop_db.migrate import run_env
from leadloop_routing.adapters.tables import metadata

run_env(metadata)
