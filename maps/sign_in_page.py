"""The sign-in page: a person with a browser pastes the token `riskmap users add` gave them, and the map pages
then load with it (a cookie the pages' scripts cannot read).  Chinese by default, English with ?lang=en."""

from __future__ import annotations

from html import escape

TEXT = {
    "zh": {"title": "登录 riskmap", "token": "令牌（riskmap users add 给出的 rm_…）", "submit": "登录",
           "bad": "令牌无效（未知、已轮换或已吊销）。", "out": "已退出登录。",
           "hint": "没有令牌？请管理员运行 riskmap users add 姓名 --role viewer。"},
    "en": {"title": "Sign in to riskmap", "token": "Token (the rm_… that riskmap users add printed)",
           "submit": "Sign in", "bad": "The token is not valid (unknown, rotated or revoked).",
           "out": "Signed out.", "hint": "No token? Ask an administrator to run riskmap users add NAME --role viewer."},
}


def sign_in_page(language: str, next_path: str, message: str | None = None) -> str:
    t = TEXT[language]
    note = f'<p class="note" role="alert">{escape(t[message])}</p>' if message else ""
    return f"""<!doctype html>
<html lang="{"zh-CN" if language == "zh" else "en"}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">
<title>{escape(t["title"])}</title>
<style>body{{font-family:system-ui,"WenQuanYi Micro Hei",sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}}
label,input,button{{display:block;width:100%;margin:.5rem 0;box-sizing:border-box}}input{{font:inherit;padding:.5rem}}
button{{font:inherit;padding:.6rem;background:#b71c1c;color:#fff;border:0;border-radius:4px}}
.note{{background:#fff3e0;padding:.5rem}}.hint{{color:#555}}</style></head>
<body><h1>{escape(t["title"])}</h1>{note}
<form method="post" action="/sign-in"><input type="hidden" name="next" value="{escape(next_path)}">
<input type="hidden" name="lang" value="{language}">
<label for="token">{escape(t["token"])}</label>
<input id="token" name="token" type="password" autocomplete="current-password" required>
<button type="submit">{escape(t["submit"])}</button></form>
<p class="hint">{escape(t["hint"])}</p></body></html>
"""
