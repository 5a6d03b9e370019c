#!/usr/bin/env python3
"""Sign-in burst: N clients sign in as one user over and over, each time in a
fresh session (sign-in page, then the form), for a number of seconds; prints
how many sign-ins answered with which status and the portal's resident
memory (now and its high-water mark) before and after.

    python3 tools/signin_burst.py http://127.0.0.1:8080 30 16 EMAIL PASSWORD $(pidof smart-account-portal)

A sign-in that succeeds answers 303 (to the home page or the two-step page).
It is a benchmark command, not a test.
"""
import collections, re, sys, threading, time, urllib.error, urllib.parse, urllib.request, http.cookiejar

base, secs, clients, email, password, pid = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
codes = collections.Counter()
lock = threading.Lock()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def memory():
    fields = dict(line.split(":", 1) for line in open(f"/proc/{pid}/status"))
    return "RSS %s, high-water %s" % (fields["VmRSS"].strip(), fields["VmHWM"].strip())


def client():
    end = time.time() + secs
    while time.time() < end:
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect)
        page = opener.open(base + "/sign-in").read().decode()
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        form = urllib.parse.urlencode({"csrf_token": token, "next": "", "email": email, "password": password}).encode()
        try:
            code = opener.open(urllib.request.Request(base + "/sign-in", data=form, headers={"Origin": base})).status
        except urllib.error.HTTPError as e:
            code = e.code
        with lock:
            codes[code] += 1


print("before:", memory())
start = time.time()
threads = [threading.Thread(target=client) for _ in range(clients)]
for t in threads:
    t.start()
for t in threads:
    t.join()
took = time.time() - start
print("sign-ins by status:", dict(codes), "in %.1f s (%.1f a second)" % (took, sum(codes.values()) / took))
print("after:", memory())
