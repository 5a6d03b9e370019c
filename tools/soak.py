#!/usr/bin/env python3
"""Memory soak: N signed-in clients browse the main pages for a while; the
portal's resident memory is printed every 10 s.

    python3 tools/soak.py http://127.0.0.1:8080 3600 logins.txt $(pidof smart-account-portal)

logins.txt: one "email password" per line (e.g. from data/demo-logins.txt,
without operations staff, who sign in with two steps). 16 clients.
"""
import sys, re, threading, time, urllib.request, urllib.parse, http.cookiejar
base = sys.argv[1]; secs = int(sys.argv[2]); logins = [l.split() for l in open(sys.argv[3])]
pid = sys.argv[4]
pages = ["/", "/orders", "/smart-account-orders", "/accounts", "/licenses", "/profile", "/smart-account-orders/export.csv", "/smart-account-orders?sort=end_customer&dir=desc"]
stop = time.time() + secs
count = [0]; errors = [0]
def rss():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"): return int(line.split()[1]) // 1024
def worker(i):
    email, pw = logins[i % len(logins)]
    cj = http.cookiejar.CookieJar()
    op = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(cj))
    html = op.open(base + "/sign-in").read().decode()
    tok = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    data = urllib.parse.urlencode({"email": email, "password": pw, "csrf_token": tok}).encode()
    req = urllib.request.Request(base + "/sign-in", data=data, headers={"Origin": base})
    op.open(req).read()
    n = 0
    while time.time() < stop:
        try:
            op.open(base + pages[n % len(pages)]).read(); count[0] += 1
        except Exception as e:
            errors[0] += 1
        n += 1
ts = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
print("rss start", rss(), "MiB", flush=True)
for t in ts: t.start()
while any(t.is_alive() for t in ts):
    time.sleep(10); print(f"t+{int(secs-(stop-time.time()))}s rss {rss()} MiB requests {count[0]} errors {errors[0]}", flush=True)
print("rss end", rss(), "MiB")
