-- wrk script: every request is POST /bench.v1.Echo/echo (path from the URL) with this body.
wrk.method = "POST"
wrk.body = '{"text":"hello, world","n":42}'
wrk.headers["Content-Type"] = "application/json"
