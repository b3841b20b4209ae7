#!/usr/bin/env python3
"""The crate's module dependency graph, read from the source (standard library only).

    python3 scripts/module-graph.py --check          cycles in the module-level graph (exit 1 if any)
    python3 scripts/module-graph.py --edges          every edge with where it comes from
    python3 scripts/module-graph.py --mermaid        flowchart collapsed to the top-level modules
    python3 scripts/module-graph.py --dot            the module-level graph in Graphviz dot
    python3 scripts/module-graph.py --update-docs docs/architecture.md
    python3 scripts/module-graph.py --check-docs docs/architecture.md
    python3 scripts/module-graph.py --self-test

What it reads: the library crate only, from src/lib.rs, following `mod x;` into
x.rs / x/mod.rs (and x/ beside a non-mod.rs file). src/main.rs, src/bin and tests/
are not part of it. Items under #[cfg(test)] (or cfg(all(test, ..))) are dropped
before anything is read, and so are comments, string and char literals.

Nodes are file modules (`audit`, `audit::store`, `error`); an inline module that
is not test-only (e.g. one a macro declares) belongs to the file it is written in.

A → B when A names an item of B:
  * `use` declarations (crate::, super::, self::, a child module, nested braces,
    `self`, `as`, globs, over several lines);
  * paths in code starting with crate::, $crate::, super::, self::, a child
    module, or a name a `use` brought in (so `use crate::audit::{self}` and then
    `audit::append(..)` counts where `append` is defined, not `audit`).
Each path is resolved to the module that defines the item: through child
modules as deep as they go, then through `use`/`pub use` bindings (re-exports,
including `pub use child::*`), and `#[macro_export]` macros to the module with
their `macro_rules!`. Not edges: `mod child;` itself, a module to itself, and a
`pub use` that is only a re-export (the re-exported name is not used in the
module's own code) — callers are resolved through it to the defining module.
A module brought in by `use` but never used in a path counts as used.

Heuristics, not a compiler: items made by macros are only seen where the macro
body writes them; a `use` inside a function is treated as if at module level.
"""

import argparse
import bisect
import difflib
import os
import re
import shutil
import sys
import tempfile

START_MARKER = "<!-- module-graph:start -->"
END_MARKER = "<!-- module-graph:end -->"
COMMAND_NOTE = "python3 scripts/module-graph.py --update-docs docs/architecture.md"
MAX_ELEMENTARY_CYCLES = 500

# ---------------------------------------------------------------- lexing


def strip_comments_and_strings(text):
    """Comments become spaces, string and char literals become "" / ' ',
    newlines are kept so that line numbers stay right."""
    out = []
    i, n = 0, len(text)

    def keep_newlines(chunk):
        return "\n" * chunk.count("\n")

    while i < n:
        c = text[i]
        nxt = text[i + 1] if i + 1 < n else ""
        prev_ident = i > 0 and (text[i - 1].isalnum() or text[i - 1] == "_")
        if c == "/" and nxt == "/":
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if c == "/" and nxt == "*":
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(" " + keep_newlines(text[i:j]))
            i = j
            continue
        if not prev_ident:
            m = re.match(r'(?:b|c)?r(#*)"', text[i:i + 300])
            if m:  # raw string
                end = text.find('"' + m.group(1), i + m.end())
                end = n if end < 0 else end + 1 + len(m.group(1))
                out.append('""' + keep_newlines(text[i:end]))
                i = end
                continue
            if c in "bc" and nxt == '"':
                i += 1
                c, nxt = '"', text[i + 1] if i + 1 < n else ""
            elif c == "b" and nxt == "'":
                i += 1
                c, nxt = "'", text[i + 1] if i + 1 < n else ""
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append('""' + keep_newlines(text[i:j + 1]))
            i = j + 1
            continue
        if c == "'":
            if nxt == "\\":  # escaped char literal: '\n', '\'', '\u{..}'
                j = i + 3
                while j < n and text[j] != "'":
                    j += 1
                out.append("' '")
                i = j + 1
                continue
            if i + 2 < n and text[i + 2] == "'" and nxt != "\n":
                out.append("' '")
                i += 3
                continue
            out.append("'")  # a lifetime or a label
            i += 1
            continue
        out.append(c)
        i += 1
    return "".join(out)


TOKEN_RE = re.compile(r"\$?(?:r#)?[^\W\d]\w*|::|\S")


def tokenize(text):
    """(token, line) pairs of comment- and literal-free text; `$crate` reads as `crate`."""
    starts = [0] + [m.end() for m in re.finditer("\n", text)]
    toks = []
    for m in TOKEN_RE.finditer(text):
        t = m.group()
        if t == "$crate":
            t = "crate"
        elif t.startswith("r#"):
            t = t[2:]
        toks.append((t, bisect.bisect_right(starts, m.start())))
    return toks


def join_tokens(words):
    out = []
    for w in words:
        if out and ((is_ident(out[-1]) and is_ident(w)) or out[-1] == ","):
            out.append(" ")
        out.append(w)
    return "".join(out)


def is_ident(t):
    return bool(t) and (t[0].isalpha() or t[0] == "_")


def matching(toks, i, open_t, close_t):
    """Index just past the token that closes toks[i] (== open_t)."""
    depth = 0
    while i < len(toks):
        if toks[i][0] == open_t:
            depth += 1
        elif toks[i][0] == close_t:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return i


def cfg_is_test_only(attr):
    """attr: tokens inside #[...]. True for cfg(test), cfg(all(.., test, ..)),
    cfg(any(test, test))."""
    if len(attr) < 3 or attr[0] != "cfg" or attr[1] != "(":
        return False

    def pred(i):  # -> (test_only, next index)
        name = attr[i] if i < len(attr) else ""
        if i + 1 < len(attr) and attr[i + 1] == "(":
            j, parts = i + 2, []
            while j < len(attr) and attr[j] != ")":
                r, j = pred(j)
                parts.append(r)
                if j < len(attr) and attr[j] == ",":
                    j += 1
            j += 1
            if name == "all":
                return any(parts), j
            if name == "any":
                return bool(parts) and all(parts), j
            return False, j
        j = i + 1
        if j < len(attr) and attr[j] == "=":
            j += 2
        return name == "test", j

    return pred(2)[0]


def strip_test_items(toks):
    """Drops every item under a test-only cfg attribute. Returns (tokens, names of
    `mod x;` declarations so dropped)."""
    out, dropped_mods = [], []
    i, n = 0, len(toks)
    while i < n:
        if toks[i][0] == "#" and i + 1 < n and toks[i + 1][0] == "[":
            end = matching(toks, i + 1, "[", "]")
            attr = [t for t, _ in toks[i + 2:end - 1]]
            if cfg_is_test_only(attr):
                j = end
                while j + 1 < n and toks[j][0] == "#" and toks[j + 1][0] == "[":
                    j = matching(toks, j + 1, "[", "]")
                k = j
                if k < n and toks[k][0] == "pub":
                    k += 1
                    if k < n and toks[k][0] == "(":
                        k = matching(toks, k, "(", ")")
                if k + 2 < n and toks[k][0] == "mod" and toks[k + 2][0] == ";":
                    dropped_mods.append(toks[k + 1][0])
                depth = 0
                while j < n:
                    t = toks[j][0]
                    if t in "([":
                        depth += 1
                    elif t in ")]":
                        depth -= 1
                    elif t == ";" and depth <= 0:
                        j += 1
                        break
                    elif t == "{" and depth <= 0:
                        j = matching(toks, j, "{", "}")
                        break
                    elif t == "}" and depth <= 0:
                        break
                    j += 1
                i = j
                continue
        out.append(toks[i])
        i += 1
    return out, dropped_mods


# ---------------------------------------------------------------- the crate


class Module:
    def __init__(self, path, node, file, parent):
        self.path = path  # logical path, a tuple of names; () is the crate root
        self.node = node  # the file module it is written in
        self.file = file
        self.parent = parent
        self.children = {}  # name -> logical path
        self.bindings = {}  # name -> Use
        self.globs = []  # Use
        self.anonymous = []  # Use: `use Trait as _;`
        self.defined = set()  # item names written in it
        self.used_names = set()  # identifiers in its code outside `use` declarations


class Use:
    def __init__(self, module, segs, name, glob, public, line, text):
        self.module = module  # logical path of the module the `use` is in
        self.segs = segs  # path as written (for `x::{self}` without the `self`)
        self.name = name  # local binding (None for `as _` and globs)
        self.glob = glob
        self.public = public
        self.line = line
        self.text = text


def parse_use_tree(toks, i, prefix, items):
    """Parses one use tree at toks[i]; appends (segs, name, glob). Returns next index."""
    segs = list(prefix)
    while i < len(toks):
        t = toks[i][0]
        if t == "::":
            if not segs:
                segs.append("::")  # ::extern_crate
            i += 1
            continue
        if t == "{":
            i += 1
            while i < len(toks) and toks[i][0] != "}":
                i = parse_use_tree(toks, i, segs, items)
                if i < len(toks) and toks[i][0] == ",":
                    i += 1
            return i + 1
        if t == "*":
            items.append((segs, None, True))
            return i + 1
        if is_ident(t):
            segs.append(t)
            i += 1
            if i < len(toks) and toks[i][0] == "::":
                continue
            if segs[-1] == "self" and len(segs) > 1:
                segs = segs[:-1]
            name = segs[-1]
            if i + 1 < len(toks) and toks[i][0] == "as":
                name = None if toks[i + 1][0] == "_" else toks[i + 1][0]
                i += 2
            items.append((segs, name, False))
            return i
        return i + 1  # unexpected token: give up on this tree
    return i


DEF_KEYWORDS = {"fn", "struct", "enum", "trait", "type", "const", "static", "union"}


class Crate:
    def __init__(self, src_dir):
        self.src_dir = src_dir
        self.modules = {}
        self.macros = {}  # #[macro_export] name -> logical path of the defining module
        self.file_tokens = {}  # node -> tokens
        self.warnings = []
        self._load((), None, os.path.join(src_dir, "lib.rs"), src_dir)
        self.edges = {}  # (from node, to node) -> [(file, line, text)]
        for node in sorted(self.file_tokens):
            self._scan_edges(node)

    # -- reading files

    def _load(self, path, parent, file, child_dir):
        with open(file, encoding="utf-8") as f:
            text = f.read()
        toks = tokenize(strip_comments_and_strings(text))
        toks, dropped = strip_test_items(toks)
        self.file_tokens[path] = toks
        self.modules[path] = Module(path, path, file, parent)
        self._read_items(path, toks, child_dir, set(dropped))

    def _read_items(self, node, toks, child_dir, dropped):
        """Module declarations, inline modules, use declarations and item names."""
        stack = [(node, 0, child_dir)]  # (logical module, brace depth it opened at, dir)
        depth = 0
        i, n = 0, len(toks)
        while i < n:
            t = toks[i][0]
            cur, _, cur_dir = stack[-1]
            mod = self.modules[cur]
            if t == "{":
                depth += 1
            elif t == "}":
                if len(stack) > 1 and stack[-1][1] == depth:
                    stack.pop()
                depth -= 1
            elif t == "mod" and i + 2 < n and is_ident(toks[i + 1][0]) and toks[i - 1][0] != "$":
                name, after = toks[i + 1][0], toks[i + 2][0]
                child = cur + (name,)
                if after == ";" and name not in dropped:
                    f1 = os.path.join(cur_dir, name + ".rs")
                    f2 = os.path.join(cur_dir, name, "mod.rs")
                    if os.path.isfile(f1):
                        mod.children[name] = child
                        self._load(child, cur, f1, os.path.join(cur_dir, name))
                    elif os.path.isfile(f2):
                        mod.children[name] = child
                        self._load(child, cur, f2, os.path.join(cur_dir, name))
                    else:
                        self.warnings.append(f"no file for `mod {name};` in {mod.file}")
                elif after == "{":
                    mod.children[name] = child
                    self.modules[child] = Module(child, node, mod.file, cur)
                    depth += 1
                    stack.append((child, depth, os.path.join(cur_dir, name)))
                    i += 3
                    continue
            elif t == "use" and i + 1 < n and toks[i + 1][0] != "<":
                end = i + 1
                while end < n and toks[end][0] != ";":
                    end += 1
                public = toks[i - 1][0] == "pub" or (
                    toks[i - 1][0] == ")" and any(toks[k][0] == "pub" for k in range(max(0, i - 5), i))
                )
                items = []
                parse_use_tree(toks[i + 1:end], 0, [], items)
                text = join_tokens([x for x, _ in toks[i:end]])
                for segs, name, glob in items:
                    u = Use(cur, segs, name, glob, public, toks[i][1], text)
                    if glob:
                        mod.globs.append(u)
                    elif name is not None:
                        mod.bindings[name] = u
                    else:
                        mod.anonymous.append(u)  # `use path as _;`
                i = end + 1
                continue
            elif t in DEF_KEYWORDS and i + 1 < n and is_ident(toks[i + 1][0]):
                mod.defined.add(toks[i + 1][0])
            elif t == "macro_rules" and i + 2 < n and toks[i + 1][0] == "!":
                name = toks[i + 2][0]
                mod.defined.add(name)
                j, exported = i - 1, False
                while j > 0 and toks[j][0] == "]":  # the attributes just before it
                    k = j
                    while k > 0 and toks[k][0] != "[":
                        k -= 1
                    if toks[k + 1][0] == "macro_export":
                        exported = True
                    j = k - 2
                if exported:
                    self.macros[name] = cur
            elif is_ident(t):
                mod.used_names.add(t)
            i += 1

    # -- resolving

    def absolute(self, module, segs, depth=0):
        """Path as written in `module` -> path from the crate root, or None (another crate)."""
        if not segs or depth > 32:
            return None
        first = segs[0]
        if first == "crate":
            return list(segs[1:])
        if first == "::":
            return None
        if first in ("super", "self"):
            cur, k = list(module), 0
            while k < len(segs) and segs[k] in ("super", "self"):
                if segs[k] == "super":
                    if not cur:
                        return None
                    cur.pop()
                k += 1
            return cur + list(segs[k:])
        mod = self.modules[module]
        if first in mod.children:
            return list(module) + list(segs)
        b = mod.bindings.get(first)
        if b is not None and not (b.segs[0] == first and b.module == module):  # not `use serde;`
            base = self.absolute(b.module, b.segs, depth + 1)
            return None if base is None else base + list(segs[1:])
        return None

    def resolve(self, segs, depth=0):
        """Root-relative path -> (logical module, True if the path names the module itself)."""
        cur = ()
        for i, s in enumerate(segs):
            mod = self.modules[cur]
            if s in mod.children:
                cur = mod.children[s]
                continue
            rest = list(segs[i + 1:])
            if depth < 32:
                b = mod.bindings.get(s)
                if b is not None:
                    target = self.absolute(b.module, b.segs)
                    if target is None:
                        return cur, False  # re-exported from another crate
                    return self.resolve(target + rest, depth + 1)
                if s not in mod.defined:
                    if cur == () and s in self.macros:
                        return self.macros[s], False
                    for g in mod.globs:
                        base = self.absolute(g.module, g.segs)
                        if base is None:
                            continue
                        gm, whole = self.resolve(base, depth + 1)
                        if whole and self._has_name(gm, s):
                            return self.resolve(list(gm) + [s] + rest, depth + 1)
            return cur, False
        return cur, True

    def _has_name(self, module, name):
        m = self.modules[module]
        return name in m.defined or name in m.children or name in m.bindings

    # -- edges

    def _add(self, src, target, file, line, text):
        dst = self.modules[target].node
        if dst == src:
            return
        self.edges.setdefault((src, dst), []).append((os.path.relpath(file, os.path.dirname(self.src_dir)), line, text))

    def _scan_edges(self, node):
        toks = self.file_tokens[node]
        file = self.modules[node].file
        in_file = [p for p, m in self.modules.items() if m.node == node]
        module_aliases = {}  # (logical module, name) -> [Use, used?]
        for lp in in_file:
            m = self.modules[lp]
            for name, u in sorted(m.bindings.items()):
                target = self.absolute(u.module, u.segs)
                if target is None:
                    continue
                tm, whole = self.resolve(target)
                if whole:
                    module_aliases[(lp, name)] = [u, tm, False]
                elif not u.public or (u.name is not None and u.name in m.used_names):
                    self._add(node, tm, file, u.line, u.text)
            for u in m.anonymous:
                target = self.absolute(u.module, u.segs)
                if target is not None:
                    self._add(node, self.resolve(target)[0], file, u.line, u.text)
            for u in m.globs:
                target = self.absolute(u.module, u.segs)
                if target is not None and not u.public:
                    self._add(node, self.resolve(target)[0], file, u.line, u.text)

        # paths in code
        stack = [(node, 0)]
        depth = 0
        i, n = 0, len(toks)
        while i < n:
            t = toks[i][0]
            cur = stack[-1][0]
            if t == "{":
                depth += 1
            elif t == "}":
                if len(stack) > 1 and stack[-1][1] == depth:
                    stack.pop()
                depth -= 1
            elif t == "mod" and i + 2 < n and toks[i + 2][0] == "{" and cur + (toks[i + 1][0],) in self.modules:
                depth += 1
                stack.append((cur + (toks[i + 1][0],), depth))
                i += 3
                continue
            elif t == "use" and i + 1 < n and toks[i + 1][0] != "<":
                while i < n and toks[i][0] != ";":
                    i += 1
            elif t in self.macros and i + 1 < n and toks[i + 1][0] == "!" and (i == 0 or toks[i - 1][0] not in ("::", "!")) \
                    and t not in self.modules[cur].bindings:
                self._add(node, self.macros[t], file, toks[i][1], t + "!")  # bare use of an exported macro
            elif is_ident(t) and i + 2 < n and toks[i + 1][0] == "::" and is_ident(toks[i + 2][0]) \
                    and (i == 0 or toks[i - 1][0] != "::"):
                j, segs = i, [t]
                while j + 2 < n and toks[j + 1][0] == "::" and is_ident(toks[j + 2][0]):
                    segs.append(toks[j + 2][0])
                    j += 2
                mod = self.modules[cur]
                first = segs[0]
                if first in ("crate", "super", "self") or first in mod.children or first in mod.bindings:
                    target = self.absolute(cur, segs)
                    if target is not None:
                        tm, _ = self.resolve(target)
                        alias = module_aliases.get((cur, first))
                        if alias is not None:
                            alias[2] = True
                        self._add(node, tm, file, toks[i][1], "::".join(segs) + ("!" if j + 1 < n and toks[j + 1][0] == "!" else ""))
                i = j + 1
                continue
            i += 1

        for (lp, name), (u, tm, used) in sorted(module_aliases.items(), key=lambda kv: kv[0]):
            if not used and not u.public:
                self._add(node, tm, file, u.line, u.text)


# ---------------------------------------------------------------- graphs


def name_of(path):
    return "::".join(path) if path else "crate"


def top_of(path):
    return path[0] if path else "crate"


class Graph:
    def __init__(self, crate):
        # the crate root is a node only if it uses something (lib.rs here only declares modules)
        self.nodes = sorted(name_of(p) for p in crate.file_tokens if p or any(a == () for a, _ in crate.edges))
        self.edges = {}
        for (a, b), ev in crate.edges.items():
            self.edges[(name_of(a), name_of(b))] = sorted(set(ev))
        self.adj = {v: sorted({b for (a, b) in self.edges if a == v}) for v in self.nodes}


def sccs(nodes, adj):
    """Tarjan, iterative; components with more than one node, each sorted, in sorted order."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    for root in nodes:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            v, k = work.pop()
            if k == 0:
                index[v] = low[v] = counter[0]
                counter[0] += 1
                stack.append(v)
                on.add(v)
            succ = adj.get(v, [])
            if k < len(succ):
                work.append((v, k + 1))
                w = succ[k]
                if w not in index:
                    work.append((w, 0))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[v])
    return sorted(out)


def elementary_cycles(comp, adj, limit):
    """Simple cycles inside one strongly connected component, each starting at its
    smallest node, sorted by length then name; at most `limit` (then truncated=True)."""
    members = set(comp)
    found = []
    for start in comp:  # cycles whose smallest node is `start`
        allowed = {v for v in members if v >= start}
        path, on_path = [start], {start}
        work = [iter(adj.get(start, []))]
        while work:
            advanced = False
            for w in work[-1]:
                if w not in allowed:
                    continue
                if w == start:
                    found.append(list(path))
                    if len(found) >= limit:
                        return sorted(found, key=lambda c: (len(c), c)), True
                elif w not in on_path:
                    path.append(w)
                    on_path.add(w)
                    work.append(iter(adj.get(w, [])))
                    advanced = True
                    break
            if not advanced:
                work.pop()
                on_path.discard(path.pop())
    return sorted(found, key=lambda c: (len(c), c)), False


def top_level(graph):
    nodes = sorted({n.split("::")[0] for n in graph.nodes})
    edges = {}
    for (a, b), ev in graph.edges.items():
        ta, tb = a.split("::")[0], b.split("::")[0]
        if ta != tb:
            edges.setdefault((ta, tb), []).append((a, b))
    adj = {v: sorted({b for (a, b) in edges if a == v}) for v in nodes}
    return nodes, edges, adj


def mermaid_id(name):
    return "m_" + name.replace("::", "__")


def mermaid_top_level(graph):
    nodes, edges, _ = top_level(graph)
    lines = ["flowchart LR"]
    for v in nodes:
        lines.append(f'    {mermaid_id(v)}["{v}"]')
    for (a, b) in sorted(edges):
        lines.append(f"    {mermaid_id(a)} --> {mermaid_id(b)}")
    return "\n".join(lines) + "\n"


def mermaid_modules(graph):
    groups = {}
    for v in graph.nodes:
        groups.setdefault(v.split("::")[0], []).append(v)
    lines = ["flowchart LR"]
    for top in sorted(groups):
        members = sorted(groups[top])
        if len(members) == 1 and members[0] == top:
            lines.append(f'    {mermaid_id(top)}["{top}"]')
            continue
        lines.append(f'    subgraph sg_{top.replace("::", "__")}["{top}"]')
        for v in members:
            lines.append(f'        {mermaid_id(v)}["{v}"]')
        lines.append("    end")
    for (a, b) in sorted(graph.edges):
        lines.append(f"    {mermaid_id(a)} --> {mermaid_id(b)}")
    return "\n".join(lines) + "\n"


def dot_modules(graph):
    groups = {}
    for v in graph.nodes:
        groups.setdefault(v.split("::")[0], []).append(v)
    lines = ["digraph modules {", "    rankdir=LR;", "    node [shape=box, fontname=\"monospace\"];"]
    for top in sorted(groups):
        members = sorted(groups[top])
        if len(members) == 1:
            lines.append(f'    "{members[0]}";')
            continue
        lines.append(f'    subgraph "cluster_{top}" {{')
        lines.append(f'        label="{top}";')
        for v in members:
            lines.append(f'        "{v}";')
        lines.append("    }")
    for (a, b) in sorted(graph.edges):
        lines.append(f'    "{a}" -> "{b}";')
    lines.append("}")
    return "\n".join(lines) + "\n"


def docs_section(graph):
    return (
        "\n"
        f"Generated from the code by `{COMMAND_NOTE}`; do not edit by hand\n"
        "(CI runs `--check-docs`). An arrow A → B means module A uses an item defined in B.\n"
        "This module-level graph must have no cycles (`python3 scripts/module-graph.py --check`).\n"
        "\n"
        "```mermaid\n"
        + mermaid_modules(graph)
        + "```\n"
        "\n"
    )


def split_docs(text, path):
    lines = text.splitlines(keepends=True)
    starts = [k for k, l in enumerate(lines) if l.strip() == START_MARKER]
    ends = [k for k, l in enumerate(lines) if l.strip() == END_MARKER]
    if len(starts) != 1 or len(ends) != 1 or ends[0] < starts[0]:
        raise SystemExit(
            f"{path}: expected one line `{START_MARKER}` followed by one line `{END_MARKER}`"
        )
    s, e = starts[0], ends[0]
    return "".join(lines[:s + 1]), "".join(lines[s + 1:e]), "".join(lines[e:])


# ---------------------------------------------------------------- commands


def report_cycles(graph, out):
    comps = sccs(graph.nodes, graph.adj)
    for k, comp in enumerate(comps, 1):
        members = set(comp)
        print(f"cycle group {k} ({len(comp)} modules): {', '.join(comp)}", file=out)
        print("  edges inside it:", file=out)
        for (a, b) in sorted(graph.edges):
            if a in members and b in members:
                f, line, text = graph.edges[(a, b)][0]
                more = len(graph.edges[(a, b)]) - 1
                extra = f" (+{more} more)" if more else ""
                print(f"    {a} -> {b}    {f}:{line} {text}{extra}", file=out)
        sub = {v: [w for w in graph.adj[v] if w in members] for v in comp}
        cycles, truncated = elementary_cycles(comp, sub, MAX_ELEMENTARY_CYCLES)
        print(f"  elementary cycles ({len(cycles)}{'+, truncated' if truncated else ''}):", file=out)
        for c in cycles:
            print("    " + " -> ".join(c + [c[0]]), file=out)
    return comps


def cmd_check(graph):
    comps = report_cycles(graph, sys.stdout)
    summary = f"{len(graph.nodes)} modules, {len(graph.edges)} edges"
    if comps:
        print(f"FAIL: {summary}; {len(comps)} group(s) of modules in cycles")
        return 1
    print(f"ok: {summary}; no cycles")
    return 0


def cmd_edges(graph):
    for (a, b) in sorted(graph.edges):
        print(f"{a} -> {b}")
        for f, line, text in graph.edges[(a, b)]:
            print(f"    {f}:{line}  {text}")
    return 0


def cmd_mermaid(graph):
    sys.stdout.write(mermaid_top_level(graph))
    nodes, edges, adj = top_level(graph)
    comps = sccs(nodes, adj)
    if comps:
        print(f"top-level graph: {len(nodes)} modules, {len(edges)} edges; cycles (allowed at this level):", file=sys.stderr)
        for comp in comps:
            members = set(comp)
            sub = {v: [w for w in adj[v] if w in members] for v in comp}
            cycles, truncated = elementary_cycles(comp, sub, MAX_ELEMENTARY_CYCLES)
            longer = sum(1 for c in cycles if len(c) > 2)
            print(f"  group of {len(comp)}: {', '.join(comp)}", file=sys.stderr)
            for a, b in sorted((a, b) for (a, b) in edges if a < b and (b, a) in edges and a in members):
                print(f"    {a} <-> {b}", file=sys.stderr)
                for x, y in ((a, b), (b, a)):
                    pairs = sorted(edges[(x, y)])
                    shown = ", ".join(f"{p} -> {q}" for p, q in pairs[:4])
                    more = f", +{len(pairs) - 4} more" if len(pairs) > 4 else ""
                    print(f"        {shown}{more}", file=sys.stderr)
            print(f"    and {longer}{'+' if truncated else ''} longer elementary cycles", file=sys.stderr)
    else:
        print(f"top-level graph: {len(nodes)} modules, {len(edges)} edges; no cycles", file=sys.stderr)
    return 0


def cmd_update_docs(graph, path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    head, _, tail = split_docs(text, path)
    new = head + docs_section(graph) + tail
    if new != text:
        with open(path, "w", encoding="utf-8") as f:
            f.write(new)
        print(f"updated {path}")
    else:
        print(f"{path} already up to date")
    if sccs(graph.nodes, graph.adj):
        print("warning: the module-level graph has cycles (see --check)", file=sys.stderr)
    return 0


def cmd_check_docs(graph, path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    _, current, _ = split_docs(text, path)
    want = docs_section(graph)
    if current == want:
        print(f"ok: the module graph in {path} matches the code")
        return 0
    sys.stdout.writelines(difflib.unified_diff(
        current.splitlines(keepends=True), want.splitlines(keepends=True),
        f"{path} (now)", f"{path} (generated)"))
    print(f"FAIL: the module graph in {path} is out of date; run `{COMMAND_NOTE}`")
    return 1


# ---------------------------------------------------------------- self-test

SELF_TEST_FILES = {
    "lib.rs": """
//! Docs naming crate::c::never0 are not code.
pub mod a;
pub mod b;
pub mod c;
#[cfg(test)]
mod testonly;
""",
    # not followed: declared under cfg(test)
    "testonly.rs": "use crate::c::never9;\n",
    "a/mod.rs": """
pub mod inner;
pub mod other;
pub use inner::{Inner, helper as help};
pub use other::*;
pub use inner::Unused;
pub fn wrap(_: Inner) {}
""",
    "a/inner.rs": """
use super::other::Other;
use crate::b::B;
pub struct Inner(Other, B);
pub struct Unused;
pub fn helper() {}
""",
    "a/other.rs": "pub struct Other;\npub fn other_fn() {}\n",
    "b.rs": """
use crate::{
    a::{self, Inner},
    c::deep::{Deep as D, *},
};
pub struct B;
// crate::c::never1
/* crate::c::never2 /* nested */ crate::c::never3 */
const S: &str = "crate::c::never4 \\" crate::c::never4b";
const R: &str = r#"crate::c::never5 " still"#;
const Q: char = '"'; fn x<'a>(v: &'a str) -> &'a str { a::help(); crate::c::shallow::f(); v }
fn g(_: Inner, _: D) { let _ = a::Other; let _ = '\\''; }
crate::mac!();
#[cfg(test)]
mod tests {
    use super::*;
    use crate::c::tested::T;
    fn t() { crate::c::tested::t(); }
}
""",
    "c.rs": """
#[macro_export]
macro_rules! early { () => {} }
pub mod late;
pub mod deep;
pub mod shallow;
pub mod tested;
use self::deep::Deep;
fn k() -> Deep { Deep }
#[macro_export]
macro_rules! mac { () => {} }
""",
    "c/deep.rs": "pub struct Deep;\n",
    "c/late.rs": "pub fn l() { early!(); }\n",  # in textual scope of a macro of c.rs
    "c/shallow.rs": "pub fn f() { let _ = super::deep::Deep; }\n",
    "c/tested.rs": "pub struct T;\npub fn t() {}\n",
}

SELF_TEST_EDGES = {
    ("a", "a::inner"),  # `wrap(_: Inner)` uses the re-export in a's own code; `Unused` does not count
    ("a::inner", "a::other"),  # super::
    ("a::inner", "b"),
    ("b", "a::inner"),  # Inner and a::help, both through re-exports
    ("b", "a::other"),  # a::Other through `pub use other::*`
    ("b", "c::deep"),  # D, and the glob
    ("b", "c::shallow"),  # inline path
    ("b", "c"),  # crate::mac! is defined in c.rs
    ("c", "c::deep"),  # use self::
    ("c::shallow", "c::deep"),  # inline super::
    ("c::late", "c"),  # bare `early!()`
}


def self_test():
    tmp = tempfile.mkdtemp(prefix="module-graph-")
    try:
        src = os.path.join(tmp, "src")
        for rel, body in SELF_TEST_FILES.items():
            p = os.path.join(src, rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w", encoding="utf-8") as f:
                f.write(body)
        crate = Crate(src)
        graph = Graph(crate)
        got = set(graph.edges)
        want = {(a, b) for a, b in SELF_TEST_EDGES}
        ok = True
        if got != want:
            ok = False
            print("edges differ:")
            for e in sorted(want - got):
                print("  missing   ", " -> ".join(e))
            for e in sorted(got - want):
                print("  unexpected", " -> ".join(e), graph.edges[e])
        if "testonly" in graph.nodes:
            ok = False
            print("a module declared under #[cfg(test)] was read")
        comps = sccs(graph.nodes, graph.adj)
        if comps != [["a::inner", "b"]]:
            ok = False
            print("cycle groups:", comps)
        cycles, _ = elementary_cycles(comps[0], graph.adj, 10) if comps else ([], False)
        if cycles != [["a::inner", "b"]]:
            ok = False
            print("elementary cycles:", cycles)
        # the docs section: update, then check; a stale section fails
        doc = os.path.join(tmp, "arch.md")
        with open(doc, "w", encoding="utf-8") as f:
            f.write(f"# A\n\n{START_MARKER}\nold\n{END_MARKER}\n\nafter\n")
        out, err = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = open(os.devnull, "w")
        try:
            cmd_update_docs(graph, doc)
            fresh = cmd_check_docs(graph, doc)
            with open(doc, encoding="utf-8") as f:
                text = f.read()
            with open(doc, "w", encoding="utf-8") as f:
                f.write(text.replace("m_b --> m_c\n", ""))
            stale = cmd_check_docs(graph, doc)
        finally:
            sys.stdout.close()
            sys.stdout, sys.stderr = out, err
        if (fresh, stale) != (0, 1) or not text.startswith("# A\n\n" + START_MARKER) or not text.endswith(END_MARKER + "\n\nafter\n"):
            ok = False
            print("docs update/check did not round-trip:", fresh, stale)
        # literals
        stripped = strip_comments_and_strings("let a = '\"'; let b = \"x // y\"; let c: &'static str; // z\n")
        if "//" in stripped or "z" in stripped or "'static" not in stripped:
            ok = False
            print("stripping went wrong:", stripped)
        print("self-test: ok" if ok else "self-test: FAILED")
        return 0 if ok else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--check", action="store_true", help="list cycles; exit 1 if any")
    g.add_argument("--edges", action="store_true", help="every edge with its sources")
    g.add_argument("--mermaid", action="store_true", help="top-level flowchart (stdout); top-level cycles on stderr")
    g.add_argument("--dot", action="store_true", help="module-level graph in Graphviz dot")
    g.add_argument("--update-docs", metavar="FILE", help="rewrite the generated section of FILE")
    g.add_argument("--check-docs", metavar="FILE", help="exit 1 if FILE's generated section is stale")
    g.add_argument("--self-test", action="store_true")
    ap.add_argument("--src", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"),
                    help="the crate's src/ (default: ../src from this script)")
    args = ap.parse_args()
    if args.self_test:
        return self_test()
    crate = Crate(os.path.normpath(args.src))
    for w in crate.warnings:
        print("warning:", w, file=sys.stderr)
    graph = Graph(crate)
    if args.check:
        return cmd_check(graph)
    if args.edges:
        return cmd_edges(graph)
    if args.mermaid:
        return cmd_mermaid(graph)
    if args.dot:
        sys.stdout.write(dot_modules(graph))
        return 0
    if args.update_docs:
        return cmd_update_docs(graph, args.update_docs)
    return cmd_check_docs(graph, args.check_docs)


if __name__ == "__main__":
    sys.exit(main())
