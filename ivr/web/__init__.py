"""The admin console and the desk agents' view: an aiohttp application rendered on the server.

- `app.create_app`: routes, middlewares (error pages, `security.guard`), the desk board
- `security`: sessions from the cookie, roles declared on every handler, CSRF on every change
- `login`, `accounts`: log-in and log-out with argon2 passwords, throttled failures
- `desk`, `board`, `desk_cards`: the live list of desk calls (server-sent events), the suggested
  script, the outcome and the callback request to the technician on standby
- `admin_customers`, `admin_tables`, `simulate`, `overview` (with `rota`), `admin_prompts`,
  `admin_calls`, `requests_pages`: the admin console
- `html`: templates in `templates/` where every value is escaped; `static/`: CSS and small JS
- `cli`: `ivr web serve`, `ivr users add|list|remove`
"""
