"""The browser the page tests drive starts, renders Chinese and runs WebCrypto's Ed25519."""

from tests import browser


def test_chromium_renders_a_page_and_verifies_ed25519(tmp_path):  # issues 15, 16: the ground
    # Opened from a file, as the offline verifier is from a disc: a file page is a secure
    # context, so WebCrypto is there (a blank page is not, and has no crypto.subtle).
    html = tmp_path / "page.html"
    html.write_text("<html lang=zh><body><h1>执法记录仪</h1></body></html>", encoding="utf-8")
    with browser.browser() as context:
        page = context.new_page()
        page.goto(html.as_uri())
        assert page.inner_text("h1") == "执法记录仪"
        # The offline verifier checks Ed25519 with WebCrypto: the browser must have it.
        has = page.evaluate(
            """async () => {
                const ed = {name: "Ed25519"};
                const k = await crypto.subtle.generateKey(ed, true, ["sign", "verify"]);
                const data = new TextEncoder().encode("sealcam");
                const sig = await crypto.subtle.sign({name: "Ed25519"}, k.privateKey, data);
                return await crypto.subtle.verify({name: "Ed25519"}, k.publicKey, sig, data);
            }"""
        )
        assert has is True
