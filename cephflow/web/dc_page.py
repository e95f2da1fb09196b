"""The datacentre link's pages as HTML: a pure function of what to show (state in, text out).

One small template (jinja2, autoescaped: a host name, a serial or a name typed by anyone is
shown as text, never as markup), laid out for a phone held in a server room: the viewport
set, large type and touch targets, no script, no cookie, nothing loaded from elsewhere. The
template is kept here rather than in a file beside it so that the package needs no data
files for it.
"""

from __future__ import annotations

from typing import Any

import jinja2

from cephflow.operations.dc_links import Confirmed, LinkPage

_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined,
                          trim_blocks=True, lstrip_blocks=True)

_PAGE = _ENV.from_string("""\
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>{{ title }} - cephflow</title>
<style>
  body { font: 18px/1.45 system-ui, sans-serif; margin: 0; padding: 1rem; color: #1b1b1b;
         background: #f6f6f4; }
  main { max-width: 34rem; margin: 0 auto; }
  h1 { font-size: 1.4rem; margin: .2rem 0 1rem; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; margin: 0 0 1rem;
       padding: .8rem 1rem; background: #fff; border: 1px solid #ddd; border-radius: .5rem; }
  dt { color: #555; } dd { margin: 0; font-weight: 600; overflow-wrap: anywhere; }
  label { display: block; margin: 1rem 0 .3rem; font-weight: 600; }
  input[type=text] { box-sizing: border-box; width: 100%; font-size: 1.1rem; padding: .7rem;
                     border: 1px solid #888; border-radius: .4rem; }
  button { width: 100%; margin-top: 1.3rem; padding: .9rem; font-size: 1.1rem; font-weight: 600;
           color: #fff; background: #1f6f43; border: 0; border-radius: .4rem; }
  .note { padding: .8rem 1rem; border-radius: .5rem; margin: 0 0 1rem; }
  .problem { background: #fdecea; border: 1px solid #e0a29b; }
  .done { background: #e8f5ec; border: 1px solid #9fcfae; }
  .small { color: #555; font-size: .9rem; }
</style>
</head>
<body>
<main>
<h1>{{ title }}</h1>
{% if problem %}<p class="note problem" role="alert">{{ problem }}</p>{% endif %}
{% if done %}<p class="note done" role="status">{{ done }}</p>{% endif %}
{% if disk %}
<dl>
{% for label, value in disk %}  <dt>{{ label }}</dt><dd>{{ value }}</dd>
{% endfor %}
</dl>
{% endif %}
{% if action %}<p>{{ action }}</p>{% endif %}
{% if form %}
<form method="post" autocomplete="off">
  <label for="new_serial">New disk's serial</label>
  <input type="text" id="new_serial" name="new_serial" required maxlength="64"
         autocapitalize="characters" spellcheck="false" value="{{ form.new_serial }}">
  <label for="technician">Your name</label>
  <input type="text" id="technician" name="technician" required maxlength="64"
         value="{{ form.technician }}">
  <button type="submit">The disk is replaced: confirm</button>
</form>
{% endif %}
<p class="small">{{ footer }}</p>
</main>
</body>
</html>
""")

_LABELS = (("host", "Host"), ("slot", "Slot / bay"), ("osd", "OSD"), ("device", "Device"),
           ("model", "Model"), ("serial", "Serial (old disk)"))


def _sentence(text: str | None) -> str | None:
    """cephflow's messages start in lower case (they follow a prefix on the CLI); a page
    shows one as a sentence."""
    return text[:1].upper() + text[1:] if text else text


def _disk(page: LinkPage) -> list[tuple[str, str]]:
    rows = []
    for name, label in _LABELS:
        value = page.disk.get(name)
        if value is not None and value != "":
            rows.append((label, f"osd.{value}" if name == "osd" else str(value)))
    return rows


def _footer(page: LinkPage) -> str:
    return f"cephflow workflow {page.link.workflow} ({page.runbook or 'runbook'}), step {page.link.step}"


def form(page: LinkPage, *, problem: str | None = None, new_serial: str = "",
         technician: str = "") -> str:
    """The disk and the confirmation form (with ``problem`` above it after a bad entry).

    The form has no ``action``: it posts to the URL the browser shows, which is the link
    however a proxy in front of ``cephflow serve`` maps paths."""
    return _PAGE.render(
        title="Replace this disk", problem=_sentence(problem), done=None, disk=_disk(page),
        action=page.disk.get("action"), footer=_footer(page),
        form={"new_serial": new_serial, "technician": technician})


def confirmed(done: Confirmed) -> str:
    """What a technician sees after confirming."""
    gates = ", ".join(d.node for d in done.decisions)
    early = any(d.early for d in done.decisions)
    text = (f"Thank you. Recorded: the new disk's serial is {done.new_serial}, confirmed by "
            f"{done.by}. The gate {gates} is approved"
            + ("; the workflow goes on when it reaches it." if early else
               " and the workflow goes on."))
    return _PAGE.render(title="Disk replacement confirmed", problem=None, done=text,
                        disk=_disk(done.page), action=None, footer=_footer(done.page),
                        form=None)


TITLES: dict[str, str] = {
    "LinkInvalid": "This link is not valid",
    "LinkExpired": "This link has expired",
    "LinkUsed": "This link was used already",
    "LinkRefused": "This link cannot be used now",
}


def refused(kind: str, message: str, **_: Any) -> str:
    """The page of a link that changes nothing: why, and that nothing was changed."""
    return _PAGE.render(title=TITLES.get(kind, "Something went wrong"), problem=_sentence(message),
                        done=None, disk=None, action=None, form=None,
                        footer="Nothing was changed. The operator can confirm with the "
                               "command in the message.")
