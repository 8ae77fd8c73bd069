"""Series intake and apply: kernel trees, series manifests, fetch, apply, range-diff.

Stage entry points (typed request in, typed result out; errors from common.errors):

    treeimport.import_tree(ImportRequest(source, ref=None, name=None), runner) -> ImportResult
        A git repo in cache_dir()/trees/<name> with the base commit tagged "base" (and
        v<kernel version>). Sources: .tar.xz/.tar.gz, a linux-source .deb, a Debian .dsc
        (its debian/patches become series <name>-debian in cache_dir()/series/), a dir,
        a git URL or checkout plus ref, or a tree definition name such as "debian-6.12"
        (apt-get download). The same input twice is a no-op (ImportResult.reused).
    treeimport.list_trees() -> list[TreeInfo];  treeimport.tree_info(name) -> TreeInfo | None

    treedefs.tree_extras(tree) -> TreeExtras(fixups: list[Fixup], denylist: list[DenyEntry])
        For the build and test stages: a tree's fix-up patches (applied first by
        apply_series) and deny list, each with its reason. TreeExtras.denied(suite) gives
        the denied test names of one suite ("test_progs" or "kselftest").

    manifest.find_series(name) -> Series;  manifest.all_series() -> list[Series]
    manifest.load_series(path) -> Series        (schema errors: InputError with file:line)
    Series.revision(label) -> Revision          (.lore_url, .kind: posting|port|local,
                                                 .tests, .fragments, .kconfig, .cmdline)
    source.load_patches(series, rev) -> list[PatchItem];  source.revision_status(...)

    fetch.fetch(FetchRequest(series, rev, mbox=None), runner) -> FetchResult
        b4 am by message-id into patches/series/<series>/<rev>/<rev>.mbx with SHA256SUMS and
        fetch.json; offline: OfflineError "cannot reach lore.kernel.org; put the mbox at P"
        within the 3 s probe. With mbox=PATH it stores a local mbox instead.

    apply.apply_series(ApplyRequest(series, rev, tree=None, upto=None, fixups=True),
                       runner) -> ApplyResult
        Worktree cache_dir()/worktrees/<tree>/<series>/<rev> on branch kh/<series>/<rev>:
        tree fix-ups first, then `git am --3way` per patch. ApplyResult.patches holds a
        PatchRecord per patch (subject, sha256, commit, status clean|3way|failed).
        Reused when the same patches go onto the same base again (ApplyResult.reused).
        A patch that does not apply raises apply.ApplyFailed (an ApplyError) naming the
        patch, files and hunks; .result has the records; the worktree is left clean.

    apply.apply_base(tree, runner, fixups=True) -> ApplyResult
        The base tree alone plus its fix-ups (jobs with no series), in its own worktree.

    rangediff.range_diff(RangeDiffRequest(series, old, new, tree=None), runner)
        -> RangeDiffResult(old, new, text)      (applies both first, reusing worktrees)

CLI (cli.register): tree import|list, series list|show, fetch, apply, diff.
"""
