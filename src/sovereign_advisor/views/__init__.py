"""Views: what people (and machines) read of an Advice. None of them computes a decision.

| module | shows |
|---|---|
| `text` | the one-screen decision for a terminal, and `--detail` |
| `json` | the Advice as JSON, the contract |
| `markdown` | the report a board reads: summary first, then the detail |
| `html` | the same report as one self-contained HTML file (chart inline as SVG) |
| `spreadsheet` | the cost breakdown as CSV, one component per row (`--format csv`) |
| `scenarios` | what-ifs side by side (`compare`) and a column of outcomes (`sweep`) |
| `explain` | one architecture rule by rule, and the break-even table |
| `curves` | monthly cost against volume, evaluated for the chart and the tables |
| `chart` | the break-even chart (needs matplotlib, the `plot` extra) |
| `kb` | the knowledge base's records, with dates and sources |
| `regenerate` | `python -m sovereign_advisor.views.regenerate`: the reports in `docs/reports/` |

Nothing here is imported by `advise`: each module loads when first used.
"""
