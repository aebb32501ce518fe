-- POST a login body ($BENCH_LOGIN_BODY) to the login route.
wrk.method = "POST"
wrk.body = os.getenv("BENCH_LOGIN_BODY")
wrk.headers["Content-Type"] = "application/json"
