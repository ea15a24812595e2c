"""The README and docs/ stand alone: a fresh clone holds every file they point to, and the
application's own API reference is linked."""
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTSIDE = re.compile(r"\b(?:DESIGN|API)\.md\b|beside this repository|\bshared/")
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def tracked_text_files() -> list[Path]:
    names = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    return [ROOT / name for name in names
            if name.endswith((".md", ".py", ".html", ".txt", ".cfg", ".ini", ".js", ".css", "Makefile"))]


def test_nothing_in_the_repository_points_to_documents_outside_it():
    here = Path(__file__).resolve()
    found = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
             for path in tracked_text_files() if path.resolve() != here and path.exists()
             for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
             if OUTSIDE.search(line)]
    assert not found, "references to files a clone does not have:\n  " + "\n  ".join(found)


def test_every_file_the_readme_and_docs_link_to_is_in_the_repository():
    docs = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    missing = [f"{doc.relative_to(ROOT)} → {target}" for doc in docs for target in LINK.findall(doc.read_text())
               if not target.startswith(("http://", "https://", "/", "mailto:"))
               and not (doc.parent / target).exists()]
    assert not missing, "links to files that are not there:\n  " + "\n  ".join(missing)


def test_the_readme_links_the_product_rules_and_the_api_reference_of_a_running_server():
    readme = (ROOT / "README.md").read_text()
    assert "](docs/design.md)" in readme and "](docs/api.md)" in readme
    assert "/api/v1/docs" in readme and "/api/v1/openapi.json" in readme
