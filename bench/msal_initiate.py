"""Times MSAL Python's start of a sign-in, for the bench's comparison (bench/src/msal.rs).

    python msal_initiate.py SAMPLES  ->  the median of SAMPLES calls, in microseconds
    python msal_initiate.py rounds   ->  the msal version, then for each line N read from stdin,
                                         the N calls' times in microseconds on one line

In rounds the bench alternates batches of MSAL's calls with batches of its own, so that both
meet the same moments of a shared machine.

`initiate_auth_code_flow` for the scopes, prompt and login hint the bench's own row uses: MSAL
makes the state, PKCE verifier and nonce and builds the authorize URL, as the platform and the
connector do. The authority's discovery is answered by a fake http_client once, at start.
"""
import statistics
import sys
import time

import msal

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
LOGIN = "https://login.microsoftonline.com"


class Discovery:
    class Response:
        status_code = 200
        headers = {}

        def __init__(self, text):
            self.text = text

        def raise_for_status(self):
            pass

    def get(self, url, **kwargs):
        import json
        return self.Response(json.dumps({
            "authorization_endpoint": f"{LOGIN}/{TENANT}/oauth2/v2.0/authorize",
            "token_endpoint": f"{LOGIN}/{TENANT}/oauth2/v2.0/token",
            "issuer": f"{LOGIN}/{TENANT}/v2.0",
            "tenant_discovery_endpoint": f"{LOGIN}/{TENANT}/v2.0/.well-known/openid-configuration",
            "metadata": []}))

    def post(self, url, **kwargs):
        raise RuntimeError("no request is made to start a sign-in")


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "2000"
    app = msal.ConfidentialClientApplication(
        "11111111-2222-3333-4444-555555555555", client_credential="s3cret",
        authority=f"{LOGIN}/{TENANT}", http_client=Discovery())

    def start():
        app.initiate_auth_code_flow(
            ["User.Read", "User.ReadBasic.All"], redirect_uri="http://localhost:8400/callback",
            prompt="select_account", login_hint="adele.vance@contoso.onmicrosoft.com")

    def timed(n):
        taken = []
        for _ in range(n):
            t = time.perf_counter_ns()
            start()
            taken.append((time.perf_counter_ns() - t) / 1000)
        return taken

    for _ in range(200):
        start()
    if mode == "rounds":
        print(msal.__version__, flush=True)
        for line in sys.stdin:
            print(" ".join(f"{t:.2f}" for t in timed(int(line))), flush=True)
        return
    print(f"{statistics.median(timed(int(mode))):.2f} {msal.__version__}")


if __name__ == "__main__":
    import warnings
    warnings.simplefilter("ignore")
    main()
