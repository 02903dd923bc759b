"""A TU-layout fixture for CLI tests: usage make_tu_fixture.py FOLDER (written as FOLDER/SHAPES_*).

24 graphs: even ones are cycles (label 1), odd ones stars (label 2); node labels 1/2 (a star's
centre is 2). Learnable by any graph classifier, small enough for seconds-long runs.
"""
import os
import sys

d = sys.argv[1]
os.makedirs(d, exist_ok=True)
a, ind, gl, nl, base = [], [], [], [], 0
for g in range(24):
    n, star = 4 + g % 5, g % 2 == 1
    edges = [(0, v) for v in range(1, n)] if star else [(v, (v + 1) % n) for v in range(n)]
    for u, v in edges:
        a += [(base + u + 1, base + v + 1), (base + v + 1, base + u + 1)]
    ind += [g + 1] * n
    nl += [1 + (v == 0 and star) for v in range(n)]
    gl.append(2 if star else 1)
    base += n


def write(name, rows):
    with open(os.path.join(d, "SHAPES_" + name), "w") as f:
        f.write("".join(str(r) + "\n" for r in rows))


write("A.txt", [f"{u}, {v}" for u, v in a])
write("graph_indicator.txt", ind)
write("graph_labels.txt", gl)
write("node_labels.txt", nl)
