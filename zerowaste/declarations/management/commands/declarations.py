from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from zerowaste.core.cli import PlatformCommand
from zerowaste.declarations import cli, services


class Command(PlatformCommand):
    help = "Declarations (申报): import a filled template or CSV, export, statistics, the Excel template."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="import an Excel template or CSV; all rows or none")
        imp.add_argument("file")
        imp.add_argument("--dry-run", action="store_true", help="check every row and report, write nothing")
        imp.add_argument("--submit", action="store_true", help="submit the imported declarations")
        exp = sub.add_parser("export", help="export declaration lines to CSV or Excel")
        exp.add_argument("--year", type=int)
        exp.add_argument("--stream", choices=["isw", "hw"])
        exp.add_argument("--status")
        exp.add_argument("--output", "-o", help="file to write (.csv or .xlsx); default: CSV to stdout")
        st = sub.add_parser("stats", help="tonnes by category, code, industry, park, street or month")
        st.add_argument("--year", type=int, required=True)
        st.add_argument("--by", choices=cli.STAT_CHOICES, default="category")
        st.add_argument("--stream", choices=["isw", "hw"], help="default: general industrial waste (isw)")
        tpl = sub.add_parser("template", help="the Excel template of a period for one producer")
        tpl.add_argument("--period", required=True, help="2020-03, 2020Q1 or 2020")
        tpl.add_argument("--stream", choices=["isw", "hw"], default="isw")
        tpl.add_argument("--organization", required=True, help="the producer's USCC")
        tpl.add_argument("--output", "-o", required=True)
        purge = sub.add_parser(
            "purge-uploads", help="drop the files of expired dry runs and finished imports (keeps summaries)"
        )
        for p in (imp, exp, st, tpl):
            self.add_format_argument(p)
            self.add_zone_argument(p)
        self.add_format_argument(purge)

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "purge-uploads":
            dropped = services.purge_uploads()
            self.emit(options, {"dropped": dropped}, f"{dropped} uploaded file(s) dropped")
            return
        actor = self.system_actor(options)
        if action == "import":
            data = cli.run_import(
                actor, options["file"], dry_run=options["dry_run"], submit=options["submit"]
            )
            verb = "checked (dry run)" if options["dry_run"] else "imported"
            self.emit(
                options,
                data,
                f"{data['rows']} rows {verb}: {len(data['declarations'])} declaration(s), no faults",
            )
        elif action == "export":
            rows = services.export_rows(
                actor, year=options.get("year"), stream=options.get("stream"), status=options.get("status")
            )
            output = options.get("output")
            if output and output.endswith(".xlsx"):
                Path(output).write_bytes(services.to_xlsx("declarations", services.EXPORT_HEADERS, rows))
            elif output:
                Path(output).write_bytes(services.to_csv(services.EXPORT_HEADERS, rows))
            elif options["format"] == "json":
                self.emit(options, [dict(zip(services.EXPORT_HEADERS, r, strict=True)) for r in rows])
                return
            else:
                self.stdout.write(
                    services.to_csv(services.EXPORT_HEADERS, rows).decode("utf-8-sig"), ending=""
                )
                return
            self.emit(options, {"output": output, "rows": len(rows)}, f"{len(rows)} rows written to {output}")
        elif action == "stats":
            data = cli.stats(actor, year=options["year"], by=options["by"], stream=options.get("stream"))
            self.emit(options, data, cli.stats_text(data))
        elif action == "template":
            org = cli.organization_actor(actor, options["organization"])
            if org is None:
                raise CommandError("name the producer with --organization USCC")
            content = services.template_xlsx(
                actor, stream=options["stream"], period=options["period"], organization_id=org.pk
            )
            Path(options["output"]).write_bytes(content)
            self.emit(options, {"output": options["output"]}, f"template written to {options['output']}")
