"""gunicorn settings for discuss: `gunicorn -c deploy/gunicorn.conf.py wsgi:app`.

Sync workers: each request holds one database connection for its lifetime, which keeps the
pool arithmetic simple (workers × DISCUSS_DB_POOL_SIZE ≤ PostgreSQL's max_connections).
"""

import multiprocessing
import os

bind = os.environ.get("DISCUSS_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("DISCUSS_WORKERS", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"
# A worker stuck longer than this is killed and replaced; the others keep serving.
timeout = 30
graceful_timeout = 20
keepalive = 5
# Recycle workers now and then so a slow leak can never grow without bound.
max_requests = 5000
max_requests_jitter = 500
# Load the app in each worker after fork: no database connection is shared across processes.
preload_app = False
forwarded_allow_ips = os.environ.get("DISCUSS_FORWARDED_ALLOW_IPS", "127.0.0.1")
# Behind deploy/nginx.conf: one proxy sets X-Forwarded-For/-Proto/-Host, so the app sees each
# reader's own address (bans, rate limits, reports). Read by the workers (they inherit it);
# set it in /etc/discuss/env to change it (e.g. 2 with a load balancer in front of nginx).
os.environ.setdefault("DISCUSS_TRUSTED_PROXIES", "1")
accesslog = "-"
errorlog = "-"
# The request id (from nginx's X-Request-ID, or made by discuss) on every access-log line.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}o)s'
