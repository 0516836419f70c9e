"""Regenerates crates/project/src/contrib_data.rs from Django wheels.

Usage: download the wheels of every supported Django version (pip download --no-deps
django==X.Y.*), unzip each into x/<wheel name>/, then run this script from that folder
and write its output to crates/project/src/contrib_data.rs.
"""
import ast, os, sys, glob, re
apps = {}  # label -> {name: deps}
versions = {}
for d in sorted(glob.glob('x/*')):
    ver = re.search(r'django-([\d.]+)-', d.lower()).group(1)
    for mdir in sorted(glob.glob(d + '/django/contrib/*/migrations')):
        label = mdir.split('/')[-2]
        for f in sorted(glob.glob(mdir + '/[0-9]*.py')):
            name = os.path.basename(f)[:-3]
            tree = ast.parse(open(f).read())
            deps = []
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and node.name == 'Migration':
                    for st in node.body:
                        if isinstance(st, ast.Assign) and st.targets[0].id == 'dependencies':
                            for e in st.value.elts:
                                if isinstance(e, ast.Tuple):
                                    deps.append((e.elts[0].value, e.elts[1].value))
                                elif isinstance(e, ast.Call):
                                    deps.append(('__setting__', 'AUTH_USER_MODEL'))
            apps.setdefault(label, {})[name] = deps
            versions.setdefault((label, name), []).append(ver)
allv = sorted({v for vs in versions.values() for v in vs}, key=lambda s: tuple(map(int, s.split('.'))))
out = []
out.append('// Generated from the wheels of Django ' + ', '.join(allv) + ' by tests/tools/gen_contrib.py.')
out.append('// Do not edit by hand: regenerate when a Django release adds contrib migrations.')
out.append('')
out.append('/// `(app label, migration name, first Django version that ships it, dependencies)`.')
out.append('/// A dependency `("__setting__", "AUTH_USER_MODEL")` is `swappable_dependency(settings.AUTH_USER_MODEL)`.')
out.append('pub static CONTRIB_MIGRATIONS: &[super::ContribMigration] = &[')
for label in sorted(apps):
    for name in sorted(apps[label]):
        deps = ', '.join('(%r, %r)' % d for d in apps[label][name]).replace("'", '"')
        first = sorted(versions[(label, name)], key=lambda s: tuple(map(int, s.split('.'))))[0]
        first = '.'.join(first.split('.')[:2])
        out.append(f'    ("{label}", "{name}", "{first}", &[{deps}]),')
out.append('];')
print('\n'.join(out))
