from leadloop_db.migrate import run_env
from leadloop_platform.auth.keys import metadata

run_env(metadata)
