#!/usr/bin/env python3
"""Derive psql-only ground truth for a vendored migration chain.

Usage:
    python3 tests/realworld/verify.py CHAIN_DIR [--host H] [--port P] [--user U]

Reads CHAIN_DIR/pgharness.toml (migrations.dir, migrations.layout,
server.bootstrap), discovers the migrations with the ordering rules of the tool
the layout belongs to, and applies them one by one with psql on a scratch
server, writing CHAIN_DIR/psql-truth.tsv.  Uses only psql, pg_dump and
CREATE DATABASE ... TEMPLATE; never pgharness.  Python 3.11+ stdlib only.

Per migration N (database "cur" holds bootstrap + migrations 1..N-1):
  up         clone cur -> nxt, apply up to nxt                      ok/fail
  rerun      clone nxt -> chk, apply up again                       ok/fail
  rerun_same schema + data dump of chk vs of nxt                    yes/no
  down       clone nxt -> chk, apply down                           ok/fail/none
  down_restores  schema dump of chk vs dump of cur                  yes/no/colorder
  reup       apply up again on chk                                  ok/fail
  reup_same  schema dump of chk vs dump of nxt                      yes/no
then nxt becomes cur.  The first failing up stops the chain; later rows are
not_reached.  "-" marks a column that does not apply.

A final row (version "chain", name "roundtrip") replays the whole chain on a
fresh database "rt" (bootstrap only): all ups in order (up), all downs in reverse
order (down; "none" when any migration has no down), schema dump vs the fresh
database (down_restores), all ups again (reup) and schema dump vs after the
first pass (reup_same).  rerun and rerun_same are "-" there.
"""
import argparse
import atexit
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib

HEADER = ["version", "name", "up", "rerun", "rerun_same", "down", "down_restores", "reup", "reup_same",
          "note"]


# --------------------------------------------------------------------------
# discovery


class Mig:
    def __init__(self, version, name, up_sql, down_sql=None, no_tx=False, sort_key=None, notes=None):
        self.version = version
        self.name = name
        self.up_sql = up_sql          # text
        self.down_sql = down_sql      # text or None
        self.no_tx = no_tx
        self.sort_key = sort_key
        self.notes = notes or []


def read(path):
    with open(path, "rb") as f:
        return f.read().decode("utf-8")


def has_sql(text):
    """True when text holds something other than whitespace and -- comments."""
    for line in text.splitlines():
        s = line.strip()
        if s and not s.startswith("--"):
            return True
    return False


def discover_sqlx(d):
    # sqlx: <i64 version>_<desc>.up.sql/.down.sql (reversible) or <version>_<desc>.sql (simple).
    # golang-migrate: <uint version>_<name>.up.sql/.down.sql -- same ordering (numeric).
    migs = {}
    for fn in sorted(os.listdir(d)):
        p = os.path.join(d, fn)
        if not os.path.isfile(p) or not fn.endswith(".sql"):
            continue
        m = re.match(r"^(\d+)_(.*?)(\.up|\.down)?\.sql$", fn)
        if not m:
            continue
        ver = int(m.group(1))
        kind = (m.group(3) or "").lstrip(".") or "simple"
        e = migs.setdefault(ver, {"name": m.group(2)})
        e[kind] = read(p)
    out = []
    for ver in sorted(migs):
        e = migs[ver]
        up = e.get("up", e.get("simple"))
        if up is None:
            continue
        no_tx = up.startswith("-- no-transaction")
        notes = []
        if "simple" in e and ("up" in e or "down" in e):
            notes.append("both simple and reversible files")
        if "simple" in e:
            notes.append("simple (non-reversible) migration")
        if no_tx:
            notes.append("no-transaction")
        out.append(Mig(str(ver), e["name"], up, e.get("down"), no_tx, ver, notes))
    return out


def discover_diesel(d):
    out = []
    for fn in os.listdir(d):
        p = os.path.join(d, fn)
        if not os.path.isdir(p):
            continue  # diesel ignores plain files beside the folders
        up = os.path.join(p, "up.sql")
        if not os.path.isfile(up):
            continue
        ver = fn.split("_", 1)[0].replace("-", "")
        name = fn.split("_", 1)[1] if "_" in fn else ""
        down = os.path.join(p, "down.sql")
        no_tx = False
        meta = os.path.join(p, "metadata.toml")
        if os.path.isfile(meta):
            with open(meta, "rb") as f:
                no_tx = tomllib.load(f).get("run_in_transaction", True) is False
        notes = ["no-transaction"] if no_tx else []
        extra = sorted(x for x in os.listdir(p) if x not in ("up.sql", "down.sql", "metadata.toml"))
        if extra:
            notes.append("extra files in folder: " + ",".join(extra))
        out.append(Mig(ver, name, read(up), read(down) if os.path.isfile(down) else None,
                       no_tx, ver, notes))
    out.sort(key=lambda m: m.sort_key)  # diesel orders versions as strings
    return out


def discover_dbmate(d):
    out = []
    for fn in sorted(os.listdir(d)):
        p = os.path.join(d, fn)
        m = re.match(r"^(\d+).*\.sql$", fn)
        if not m or not os.path.isfile(p):
            continue
        ver = m.group(1)
        name = fn[len(ver):].lstrip("_")
        name = name[: -len(".sql")]
        text = read(p)
        um = re.search(r"^--\s*migrate:up(.*)$", text, re.M)
        dm = re.search(r"^--\s*migrate:down(.*)$", text, re.M)
        if not um:
            raise SystemExit(f"{fn}: no -- migrate:up")
        up_end = dm.start() if dm and dm.start() > um.start() else len(text)
        up = text[um.end() + 1: up_end]
        down = None
        notes = []
        if dm:
            down = text[dm.end() + 1:]
            if not has_sql(down):
                notes.append("empty migrate:down section")
                down = None
        no_tx = "transaction:false" in um.group(1).replace(" ", "")
        if no_tx:
            notes.append("no-transaction")
        out.append(Mig(ver, name, up, down, no_tx, (ver, fn), notes))
    out.sort(key=lambda m: m.sort_key)
    return out


def strip_sql_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"--[^\n]*", "", text)


def discover_flyway(d):
    out = []
    for fn in os.listdir(d):
        p = os.path.join(d, fn)
        m = re.match(r"^V(\d+(?:[._]\d+)*)__(.+)\.sql$", fn)
        if not m or not os.path.isfile(p):
            continue
        parts = [int(x) for x in re.split(r"[._]", m.group(1))]
        while len(parts) > 1 and parts[-1] == 0:
            parts.pop()
        ver = ".".join(str(x) for x in parts)
        text = read(p)
        notes = []
        # Flyway runs a script outside a transaction when its PostgreSQL parser finds
        # a statement that cannot run in one (CREATE/DROP INDEX CONCURRENTLY, ...).
        no_tx = bool(re.search(r"\bconcurrently\b", strip_sql_comments(text), re.I))
        if no_tx:
            notes.append("no-transaction (flyway auto-detects CONCURRENTLY)")
        out.append(Mig(ver, m.group(2), text, None, no_tx, tuple(parts), notes))
    out.sort(key=lambda m: m.sort_key)
    return out


def discover_supabase(d):
    out = []
    for fn in sorted(os.listdir(d)):
        p = os.path.join(d, fn)
        m = re.match(r"^(\d+)_(.*)\.sql$", fn)
        if not m or not os.path.isfile(p):
            continue
        out.append(Mig(m.group(1), m.group(2), read(p), None, False, m.group(1)))
    out.sort(key=lambda m: m.sort_key)
    return out


DISCOVER = {"sqlx": discover_sqlx, "diesel": discover_diesel, "dbmate": discover_dbmate,
            "flyway": discover_flyway, "supabase": discover_supabase}


# --------------------------------------------------------------------------
# psql helpers


class PG:
    def __init__(self, host, port, user, prefix):
        self.env = dict(os.environ, PGHOST=host, PGPORT=str(port), PGUSER=user)
        self.env.pop("PGDATABASE", None)
        self.prefix = prefix
        self.tmp = tempfile.mkdtemp(prefix="pgh-verify-")
        atexit.register(shutil.rmtree, self.tmp, True)

    def db(self, tag):
        return f"{self.prefix}_{tag}"

    def admin(self, sql):
        r = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", "postgres", "-c", sql],
                           env=self.env, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"admin SQL failed: {sql}: {r.stderr.strip()}")

    def drop(self, tag):
        self.admin(f'DROP DATABASE IF EXISTS "{self.db(tag)}" WITH (FORCE)')

    def query(self, sql):
        r = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", "postgres", "-c", sql],
                           env=self.env, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"query failed: {sql}: {r.stderr.strip()}")
        return [x for x in r.stdout.splitlines() if x]

    def clone(self, src, dst):
        self.drop(dst)
        self.admin(f'CREATE DATABASE "{self.db(dst)}" TEMPLATE "{self.db(src)}"')
        # CREATE DATABASE ... TEMPLATE does not copy ALTER DATABASE ... SET settings
        # (e.g. a search_path the bootstrap sets); carry them over.
        for setting in self.query(
                "SELECT unnest(setconfig) FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase "
                f"WHERE s.setrole = 0 AND d.datname = '{self.db(src)}'"):
            name, value = setting.split("=", 1)
            self.admin(f'ALTER DATABASE "{self.db(dst)}" SET "{name}" = {value}'
                       if name == "search_path" else
                       f'ALTER DATABASE "{self.db(dst)}" SET "{name}" = \'{value}\'')

    def rename(self, src, dst):
        self.drop(dst)
        self.admin(f'ALTER DATABASE "{self.db(src)}" RENAME TO "{self.db(dst)}"')

    def run_sql(self, tag, sql, single_tx=True):
        """Apply a script with psql -f; returns (ok, first error line)."""
        path = os.path.join(self.tmp, "script.sql")
        with open(path, "w", encoding="utf-8") as f:
            f.write(sql)
        cmd = ["psql", "-v", "ON_ERROR_STOP=1", "-X", "-q"]
        if single_tx:
            cmd.append("-1")
        cmd += ["-f", path, "-d", self.db(tag)]
        r = subprocess.run(cmd, env=self.env, capture_output=True, text=True)
        if r.returncode == 0:
            return True, ""
        err = ""
        for line in r.stderr.splitlines():
            if "ERROR:" in line or "FATAL:" in line:
                err = line[line.index("ERROR:") if "ERROR:" in line else line.index("FATAL:"):]
                break
        return False, (err or r.stderr.strip().splitlines()[-1] if r.stderr.strip() else f"exit {r.returncode}")

    def dump(self, tag):
        r = subprocess.run(["pg_dump", "--schema-only", "--no-owner", "--no-privileges", "-d", self.db(tag)],
                           env=self.env, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"pg_dump {tag}: {r.stderr.strip()}")
        return normalize(r.stdout)

    def dump_data(self, tag):
        r = subprocess.run(["pg_dump", "--data-only", "--no-owner", "--no-privileges", "-d", self.db(tag)],
                           env=self.env, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"pg_dump --data-only {tag}: {r.stderr.strip()}")
        return normalize_data(r.stdout)


def normalize_data(dump):
    """normalize() outside COPY blocks; the rows of each COPY ... FROM stdin; block
    are kept verbatim (a row may be blank or start with "--") and sorted, so the
    physical row order does not matter."""
    out, rows = [], None
    for line in dump.split("\n"):  # not splitlines(): COPY rows may hold \x1c, U+2028, ...
        if rows is not None:
            if line == "\\.":
                out.extend(sorted(rows))
                out.append(line)
                rows = None
            else:
                rows.append(line)
            continue
        s = normalize(line)
        out.extend(s)
        if s and s[0].startswith("COPY ") and s[0].endswith(" FROM stdin;"):
            rows = []
    if rows is not None:
        raise RuntimeError("pg_dump --data-only: unterminated COPY block")
    return out


def copy_blocks(lines):
    """{COPY header: rows} of a normalize_data() dump."""
    blocks, cur = {}, None
    for line in lines:
        if cur is None:
            if line.startswith("COPY ") and line.endswith(" FROM stdin;"):
                cur = blocks.setdefault(line[len("COPY "):-len(" FROM stdin;")].split(" (")[0], [])
        elif line == "\\.":
            cur = None
        else:
            cur.append(line)
    return blocks


def data_where(a, b):
    """Name of the first table whose rows differ between two data dumps, or ""."""
    ba, bb = copy_blocks(a), copy_blocks(b)
    for t in list(ba) + [t for t in bb if t not in ba]:
        if ba.get(t) != bb.get(t):
            return t
    return ""


def normalize(dump):
    out = []
    for line in dump.splitlines():
        s = line.rstrip()
        if not s.strip() or s.startswith("--"):
            continue
        if s.startswith("SET ") or s.startswith("SELECT pg_catalog.set_config"):
            continue
        if s.startswith("\\restrict") or s.startswith("\\unrestrict"):
            continue  # random per-dump key emitted by recent pg_dump point releases
        out.append(s)
    return out


def canonical_colorder(lines):
    """Sort the column lines inside each CREATE TABLE ( ... ); block."""
    out, block = [], None
    for line in lines:
        if block is None:
            out.append(line)
            if line.startswith("CREATE TABLE ") and line.endswith("("):
                block = []
        else:
            if line.startswith(")"):
                out.extend(sorted(x.strip().rstrip(",") for x in block))
                out.append(line)
                block = None
            else:
                block.append(line)
    return out


DIFF_DIR = None


def compare(a, b, label=""):
    if a != b and DIFF_DIR and canonical_colorder(a) != canonical_colorder(b):
        import difflib
        os.makedirs(DIFF_DIR, exist_ok=True)
        with open(os.path.join(DIFF_DIR, label + ".diff"), "w", encoding="utf-8") as f:
            f.writelines(x + "\n" for x in difflib.unified_diff(a, b, "expected", "actual", lineterm=""))
    if a == b:
        return "yes", ""
    if canonical_colorder(a) == canonical_colorder(b):
        return "colorder", ""
    # Column order also moves what pg_dump prints per column (COMMENT ON
    # COLUMN, column grants): the same lines in another order, with commas
    # only at other line ends, is column order too.
    if sorted(x.rstrip(",") for x in a) == sorted(x.rstrip(",") for x in b):
        return "colorder", ""
    from collections import Counter
    gone = list((Counter(a) - Counter(b)).elements())
    new = list((Counter(b) - Counter(a)).elements())
    gone.sort(key=a.index)
    new.sort(key=b.index)
    parts = []
    if gone:
        parts.append("missing: " + gone[0].strip()[:80])
    if new:
        parts.append("extra: " + new[0].strip()[:80])
    return "no", "; ".join(parts) or "statement order differs"


def roundtrip(pg, migs, bootstrap):
    """The whole chain on a fresh database "rt": all ups, all downs in reverse
    order, all ups again.  Returns the "chain roundtrip" row."""
    row = {"up": "-", "down": "-", "restores": "-", "reup": "-", "reup_same": "-"}
    notes = []

    def result():
        note = "; ".join(notes).replace("\t", " ").replace("\n", " ")
        return ["chain", "roundtrip", row["up"], "-", "-", row["down"], row["restores"], row["reup"],
                row["reup_same"], note]

    def apply_all(label, seq, sql_of):
        for m in seq:
            ok, err = pg.run_sql("rt", sql_of(m), not m.no_tx)
            if not ok:
                notes.append(f"{label} {m.version}: {err}")
                return False
        return True

    pg.drop("rt")
    pg.admin(f'CREATE DATABASE "{pg.db("rt")}" TEMPLATE template0')
    try:
        if has_sql(bootstrap):
            ok, err = pg.run_sql("rt", bootstrap, single_tx=False)
            if not ok:
                raise SystemExit(f"bootstrap failed: {err}")
        fresh = pg.dump("rt")
        if not apply_all("up", migs, lambda m: m.up_sql):
            row["up"] = "fail"
            return result()
        row["up"] = "ok"
        after_up = pg.dump("rt")
        missing = [m.version for m in migs if m.down_sql is None]
        if missing:
            row["down"] = "none"
            notes.append(f"no down: {len(missing)} of {len(migs)} migrations (first {missing[0]})")
            return result()
        if not apply_all("down", reversed(migs), lambda m: m.down_sql):
            row["down"] = "fail"
            return result()
        row["down"] = "ok"
        row["restores"], why = compare(fresh, pg.dump("rt"), "chain_down")
        if why:
            notes.append("down diff: " + why)
        if not apply_all("reup", migs, lambda m: m.up_sql):
            row["reup"] = "fail"
            return result()
        row["reup"] = "ok"
        row["reup_same"], why = compare(after_up, pg.dump("rt"), "chain_reup")
        if why:
            notes.append("reup diff: " + why)
        return result()
    finally:
        pg.drop("rt")


# --------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("chain")
    ap.add_argument("--host", default="/tmp/vendor-pg")
    ap.add_argument("--port", default=54329, type=int)
    ap.add_argument("--user", default="postgres")
    ap.add_argument("--out", default=None)
    ap.add_argument("--diff-dir", default=None, help="write a unified diff for every 'no' comparison here")
    args = ap.parse_args()
    global DIFF_DIR
    DIFF_DIR = args.diff_dir

    chain = os.path.abspath(args.chain)
    with open(os.path.join(chain, "pgharness.toml"), "rb") as f:
        cfg = tomllib.load(f)
    layout = cfg["migrations"]["layout"]
    mdir = os.path.join(chain, cfg["migrations"]["dir"])
    bootstrap = cfg.get("server", {}).get("bootstrap", "")
    migs = DISCOVER[layout](mdir)

    slug = re.sub(r"[^a-z0-9]", "_", os.path.basename(chain).lower())
    pg = PG(args.host, args.port, args.user, "vt_" + slug)

    # fresh database = bootstrap applied to an empty database
    pg.drop("cur")
    pg.admin(f'CREATE DATABASE "{pg.db("cur")}" TEMPLATE template0')
    if has_sql(bootstrap):
        ok, err = pg.run_sql("cur", bootstrap, single_tx=False)
        if not ok:
            raise SystemExit(f"bootstrap failed: {err}")
    before = pg.dump("cur")

    rows = []
    stopped = False
    for i, m in enumerate(migs):
        if stopped:
            rows.append([m.version, m.name, "not_reached", "-", "-", "-", "-", "-", "-", ""])
            continue
        notes = list(m.notes)
        tx = not m.no_tx
        pg.clone("cur", "nxt")
        ok, err = pg.run_sql("nxt", m.up_sql, tx)
        if not ok:
            notes.append("up: " + err)
            rows.append([m.version, m.name, "fail", "-", "-", "-", "-", "-", "-", "; ".join(notes)])
            stopped = True
            pg.drop("nxt")
            continue
        after_up = pg.dump("nxt")
        after_up_data = pg.dump_data("nxt")

        pg.clone("nxt", "chk")
        ok, err = pg.run_sql("chk", m.up_sql, tx)
        rerun = "ok" if ok else "fail"
        rerun_same = "-"
        if not ok:
            notes.append("rerun: " + err)
        else:
            # the second run must leave schema AND data as the first run did
            same_schema, why_schema = compare(after_up, pg.dump("chk"), f"{m.version}_rerun_schema")
            rerun_data = pg.dump_data("chk")
            same_data, why_data = compare(after_up_data, rerun_data, f"{m.version}_rerun_data")
            table = data_where(after_up_data, rerun_data)
            if table and why_data:
                why_data = f"{table}: {why_data}"
            differs = []
            if same_schema != "yes":
                differs.append("schema" + (f" ({why_schema})" if why_schema else f" ({same_schema})"))
            if same_data != "yes":
                differs.append("data" + (f" ({why_data})" if why_data else f" ({same_data})"))
            rerun_same = "no" if differs else "yes"
            if differs:
                notes.append("rerun differs: " + ", ".join(differs))

        down = restores = reup = reup_same = "-"
        if m.down_sql is None:
            down = "none"
        else:
            pg.clone("nxt", "chk")
            ok, err = pg.run_sql("chk", m.down_sql, tx)
            down = "ok" if ok else "fail"
            if not ok:
                notes.append("down: " + err)
            else:
                restores, why = compare(before, pg.dump("chk"), f"{m.version}_down")
                if why:
                    notes.append("down diff: " + why)
                ok, err = pg.run_sql("chk", m.up_sql, tx)
                reup = "ok" if ok else "fail"
                if not ok:
                    notes.append("reup: " + err)
                else:
                    reup_same, why = compare(after_up, pg.dump("chk"), f"{m.version}_reup")
                    if why:
                        notes.append("reup diff: " + why)
        pg.drop("chk")
        pg.rename("nxt", "cur")
        before = after_up
        note = "; ".join(notes).replace("\t", " ").replace("\n", " ")
        rows.append([m.version, m.name, "ok", rerun, rerun_same, down, restores, reup, reup_same, note])
        print(f"[{os.path.basename(chain)}] {i + 1}/{len(migs)} {m.version} {rows[-1][2:9]}", file=sys.stderr)

    pg.drop("cur")
    pg.drop("nxt")
    pg.drop("chk")
    rows.append(roundtrip(pg, migs, bootstrap))
    print(f"[{os.path.basename(chain)}] chain roundtrip {rows[-1][2:]}", file=sys.stderr)
    out = args.out or os.path.join(chain, "psql-truth.tsv")
    with open(out, "w", encoding="utf-8") as f:
        f.write("\t".join(HEADER) + "\n")
        for r in rows:
            f.write("\t".join(r) + "\n")
    rt, rows = rows[-1], rows[:-1]
    n = len(rows)
    fails = [r for r in rows if r[2] == "fail"]
    print(f"{os.path.basename(chain)}: {n} migrations; up fail at "
          f"{fails[0][0] if fails else 'none'}; downs not restoring "
          f"{sum(1 for r in rows if r[6] == 'no')}; reruns failing {sum(1 for r in rows if r[3] == 'fail')}; "
          f"reruns not same {sum(1 for r in rows if r[4] == 'no')}; "
          f"chain up={rt[2]} down={rt[5]} down_restores={rt[6]} reup={rt[7]} reup_same={rt[8]}")


if __name__ == "__main__":
    main()
