"""``dvc plots show`` offline: an HTML template with Vega inlined, plots in the declared order.

DVC's page loads vega, vega-lite and vega-embed from a CDN, which these machines do
not reach, so its interactive plots were blank.  ``write_template`` writes a DVC HTML
template (``TEMPLATE``, named in ``.dvc/config`` as ``plots.html_template``) that

* inlines the three libraries from the ``vl-convert-python`` wheel
  (``vl_convert.javascript_bundle``: they become ``window.vegaEmbed`` etc., which DVC's
  plot divs call), so the page needs no network;
* has no ``{scripts}`` placeholder, so DVC's CDN ``<script>`` tags are left out;
* puts the plots in the order of ``dvc.yaml``'s top-level ``plots`` list (DVC itself
  puts every Vega plot before every image, and the images in path order): a small
  script moves each plot's ``<div id=...>`` (``plot_div_id``, DVC's own id rule) into
  that order.

``scripts/setup.sh`` runs ``python -m tinyad.tools.plots`` (idempotent); run it again after
changing the ``plots`` list of dvc.yaml.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

TEMPLATE = ".dvc/plots/offline.html"  # plots.html_template in .dvc/config is relative to .dvc/
VEGA_LITE = "5.21"  # DVC's templates are Vega-Lite 5 specs
PLACEHOLDERS = ("{plot_divs}", "{scripts}", "{refresh_tag}")


def plot_div_id(name: str) -> str:
    """The id DVC gives a plot's div (``dvc_render.base.Renderer.remove_special_chars``)."""
    from dvc_render.base import Renderer

    return Renderer.remove_special_chars(name)


def declared_plots(dvc_yaml: str | Path = "dvc.yaml") -> list[str]:
    """The names of the top-level ``plots`` of dvc.yaml, in order (a path, or an id)."""
    import yaml

    spec = yaml.safe_load(Path(dvc_yaml).read_text()) or {}
    out = []
    for entry in spec.get("plots") or []:
        out.append(next(iter(entry)) if isinstance(entry, dict) else str(entry))
    return out


PAGE = """<!DOCTYPE html>
<html>
<head>
    {refresh_tag}
    <meta charset="utf-8">
    <title>tinyad: DVC plots</title>
    <script type="text/javascript">
__BUNDLE__
    </script>
    <style>
        body { font-family: sans-serif; }
        table { border-spacing: 15px; }
        img { max-width: 100%; }
    </style>
</head>
<body>
    {plot_divs}
    <script type="text/javascript">
    // the order of dvc.yaml's plots (DVC writes every Vega plot before every image)
    (function () {
        var order = __ORDER__;
        order.forEach(function (id) {
            var el = document.getElementById(id);
            if (el && el.parentNode === document.body) { document.body.appendChild(el); }
        });
    })();
    </script>
</body>
</html>
"""


def template_html(order: list[str]) -> str:
    import vl_convert

    bundle = vl_convert.javascript_bundle(vl_version=VEGA_LITE)
    for p in PLACEHOLDERS:
        if p in bundle:  # DVC replaces these everywhere in the page
            raise ValueError(f"vl_convert's bundle contains the DVC placeholder {p}")
    bundle = bundle.replace("</script", "<\\/script")
    ids = [plot_div_id(name) for name in order]
    return PAGE.replace("__BUNDLE__", bundle).replace("__ORDER__", json.dumps(ids))


def write_template(root: str | Path = ".", dvc_yaml: str = "dvc.yaml") -> Path:
    from tinyad.io import write_text

    root = Path(root)
    out = root / TEMPLATE
    text = template_html(declared_plots(root / dvc_yaml))
    if not out.is_file() or out.read_text() != text:
        write_text(out, text)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=".")
    args = ap.parse_args(argv)
    print(f"wrote {write_template(args.root)} (dvc plots show works offline)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
