# mypy: disable-error-code="no-untyped-call"
# (pyHanko is only partly typed)
"""Which pages a later revision touched, decided from objects before any page is rendered.

For every page of the final file: the latest revision that changed anything the page draws by
itself (content streams, resources, inherited attributes: everything reachable from them), and
per annotation the latest revision that changed it or what it draws (its dictionary, appearance
streams, the field dictionaries above it). A page none of whose objects changed after the signed
revision looks as it did when signed and is not rendered. The rest is what `visual_check` renders.

Walking is bounded (`Limits.revision_walk_objects`); past the bound every page counts as touched
(rendering then decides, which is slower, never weaker).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader

__all__ = ["DocumentObjects", "PageChange", "PageObjects", "page_changes", "read_document_objects"]

Ref = tuple[int, int]
Box = tuple[float, float, float, float]  # left, bottom, right, top in default user space

PAGE_KEYS_OWN = ("/Contents", "/Resources", "/MediaBox", "/CropBox", "/Rotate", "/Group", "/UserUnit")
INHERITED = ("/Resources", "/MediaBox", "/CropBox", "/Rotate")
# back-links and navigation: following them would walk the whole document, and they draw nothing
NOT_DRAWN = frozenset({"/Parent", "/P", "/Annots", "/Kids", "/Dest", "/A", "/AA", "/Next", "/Popup", "/IRT"})
MAX_TREE_DEPTH = 64
MAX_FIELD_DEPTH = 32
UNKNOWN_REVISION = 1 << 30  # an object whose history cannot be read counts as just changed


class WalkLimitError(Exception):
    """More objects than the limit: treat every page as touched."""


@dataclass(frozen=True)
class AnnotObjects:
    ref: Ref | None  # None for an annotation written directly into /Annots
    revision: int  # latest change to it, its appearance or its field
    signature: bool  # the widget of a signature field (signature or document timestamp)
    widget: bool  # the widget of any form field
    rect: Box


@dataclass(frozen=True)
class PageObjects:
    ref: Ref
    own_revision: int  # latest change to what the page draws by itself
    dict_revision: int  # the page dictionary (rewritten when /Annots changes)
    annots_revision: int  # the /Annots array when indirect, else the page dictionary's
    annots: tuple[AnnotObjects, ...]


@dataclass(frozen=True)
class DocumentObjects:
    pages: tuple[PageObjects, ...]
    tree_revision: int  # latest change to a page tree node
    global_revision: int  # latest change to optional content (/OCProperties), which every page obeys
    need_appearances: bool  # /AcroForm /NeedAppearances in the final file
    form_defaults_revision: int  # latest change reachable from the form's /DR, /DA, /XFA
    form_defaults: tuple[object, ...]  # those entries as written in the final file


@dataclass(frozen=True)
class PageChange:
    """A page some revision after the signed one touched: render it and compare."""

    index: int
    content_changed: bool  # the page's own drawing changed: no change anywhere is allowed
    signature_rects: tuple[Box, ...]  # signature widgets added or changed after signing
    field_rects: tuple[Box, ...]  # other form fields' widgets added or changed after signing
    other_rects: tuple[Box, ...]  # other annotations added or changed after signing
    # signature widgets already there when signed: their appearances are not document content, a
    # new signature may overlap them (Decree 30/2020: the seal covers a third of the signature)
    earlier_signature_rects: tuple[Box, ...] = ()


class _Walker:
    def __init__(self, reader: PdfFileReader, budget: int) -> None:
        self.reader = reader
        self.budget = budget
        self.revisions: dict[Ref, int] = {}

    def revision_of(self, ref: generic.IndirectObject | generic.Reference) -> int:
        key = (ref.idnum, ref.generation)
        found = self.revisions.get(key)
        if found is None:
            try:
                found = self.reader.xrefs.get_last_change(generic.Reference(ref.idnum, ref.generation))
            except KeyError:
                found = UNKNOWN_REVISION
            self.revisions[key] = found
        return found

    def latest(self, roots: list[generic.PdfObject]) -> int:
        """The latest revision of any indirect object reachable from `roots`, `NOT_DRAWN` keys
        excluded."""
        latest = -1
        seen: set[Ref] = set()
        stack = list(roots)
        while stack:
            obj = stack.pop()
            if isinstance(obj, generic.IndirectObject):
                key = (obj.idnum, obj.generation)
                if key in seen:
                    continue
                seen.add(key)
                self.budget -= 1
                if self.budget < 0:
                    raise WalkLimitError
                latest = max(latest, self.revision_of(obj))
                stack.append(obj.get_object())
            elif isinstance(obj, generic.DictionaryObject):
                stack.extend(obj.raw_get(k) for k in obj if k not in NOT_DRAWN)
            elif isinstance(obj, generic.ArrayObject):
                stack.extend(obj.raw_get(i) for i in range(len(obj)))
        return latest


def read_document_objects(reader: PdfFileReader, *, max_pages: int, walk_objects: int) -> DocumentObjects:
    """Raises WalkLimitError past `walk_objects` objects."""
    walker = _Walker(reader, walk_objects)
    root = reader.root
    tree_revision = -1
    pages: list[PageObjects] = []
    for page_ref, chain in _page_refs(reader.root.raw_get("/Pages"), max_pages):
        # a node's /Kids may be an object of its own: rewriting it reorders pages too
        kids = [n.get_object().raw_get("/Kids") for n in chain if "/Kids" in n.get_object()]
        nodes = [*chain, *(k for k in kids if isinstance(k, generic.IndirectObject))]
        tree_revision = max([tree_revision, *(walker.revision_of(node) for node in nodes)])
        page = page_ref.get_object()
        # inherited attributes: the values (when indirect) and the nodes holding them (when direct)
        holders = [n for n in chain if any(k in n.get_object() for k in INHERITED)]
        inherited = [n.get_object().raw_get(k) for n in holders for k in INHERITED if k in n.get_object()]
        own = [page.raw_get(k) for k in PAGE_KEYS_OWN if k in page] + inherited
        annots_raw = page.raw_get("/Annots") if "/Annots" in page else None
        dict_revision = walker.revision_of(page_ref)
        annots_revision = (
            walker.revision_of(annots_raw)
            if isinstance(annots_raw, generic.IndirectObject)
            else dict_revision
        )
        pages.append(
            PageObjects(
                ref=(page_ref.idnum, page_ref.generation),
                own_revision=max([walker.latest(own), *(walker.revision_of(n) for n in holders)]),
                dict_revision=dict_revision,
                annots_revision=annots_revision,
                annots=tuple(_annotations(walker, annots_raw, max(dict_revision, annots_revision))),
            )
        )
    ocproperties = [root.raw_get("/OCProperties")] if "/OCProperties" in root else []
    form = root.get("/AcroForm")
    # what fields are drawn from when viewers draw them (NeedAppearances) and XFA, which some
    # viewers show instead of the fields and PDFium does not render
    defaults = [
        form.raw_get(k)
        for k in ("/DR", "/DA", "/XFA")
        if isinstance(form, generic.DictionaryObject) and k in form
    ]
    return DocumentObjects(
        tuple(pages),
        tree_revision,
        walker.latest(ocproperties),
        _need_appearances(root),
        walker.latest(defaults),
        _form_defaults(root),
    )


def _form_defaults(root: generic.PdfObject) -> tuple[object, ...]:
    """/DR, /DA and /XFA of the form as written (references compare by number)."""
    form = root.get("/AcroForm") if isinstance(root, generic.DictionaryObject) else None
    if not isinstance(form, generic.DictionaryObject):
        return ()
    return tuple(form.raw_get(k) if k in form else None for k in ("/DR", "/DA", "/XFA"))


def _need_appearances(root: generic.PdfObject) -> bool:
    """Whether viewers are told to draw fields from their values rather than their appearances."""
    form = root.get("/AcroForm") if isinstance(root, generic.DictionaryObject) else None
    return isinstance(form, generic.DictionaryObject) and bool(form.get("/NeedAppearances", False))


def _annotations(walker: _Walker, annots_raw: object, page_revision: int) -> Iterator[AnnotObjects]:
    if annots_raw is None:
        return
    annots = annots_raw.get_object() if isinstance(annots_raw, generic.IndirectObject) else annots_raw
    if not isinstance(annots, generic.ArrayObject):
        return
    for i in range(len(annots)):
        raw = annots.raw_get(i)
        annot = raw.get_object() if isinstance(raw, generic.IndirectObject) else raw
        if not isinstance(annot, generic.DictionaryObject):
            continue
        parents = list(_parent_chain(annot))
        # walking a field from its reference covers its own dictionary (/V, /DA, /Ff...) without
        # its /Kids or /Parent
        revision = walker.latest([raw, *parents])
        resolved = (p.get_object() if isinstance(p, generic.IndirectObject) else p for p in parents)
        fields = [f for f in resolved if isinstance(f, generic.DictionaryObject)]
        if not isinstance(raw, generic.IndirectObject):
            revision = max(revision, page_revision)
        ref = (raw.idnum, raw.generation) if isinstance(raw, generic.IndirectObject) else None
        widget = annot.get("/Subtype") == "/Widget"
        yield AnnotObjects(ref, revision, _is_signature_widget(annot, fields), widget, _rect(annot))


def _parent_chain(annot: generic.DictionaryObject) -> Iterator[generic.PdfObject]:
    """The field dictionaries above a widget (its /Parent chain) as written, bounded."""
    node = annot
    for _ in range(MAX_FIELD_DEPTH):
        if "/Parent" not in node:
            return
        raw = node.raw_get("/Parent")
        parent = raw.get_object() if isinstance(raw, generic.IndirectObject) else raw
        if not isinstance(parent, generic.DictionaryObject):
            return
        yield raw
        node = parent


def _is_signature_widget(annot: generic.DictionaryObject, fields: list[generic.DictionaryObject]) -> bool:
    """The widget of a signed signature field: an unsigned one's appearance is not a signature's
    (a new, unsigned field drawing on blank paper is a change like any other)."""
    if annot.get("/Subtype") != "/Widget":
        return False
    for node in (annot, *fields):
        if "/FT" in node:
            return node.get("/FT") == "/Sig" and _has_value(annot, fields)
    return False


def _has_value(annot: generic.DictionaryObject, fields: list[generic.DictionaryObject]) -> bool:
    for node in (annot, *fields):
        if "/V" in node:
            return isinstance(node["/V"], generic.DictionaryObject)  # [] resolves a reference
    return False


def _rect(annot: generic.DictionaryObject) -> Box:
    try:
        a, b, c, d = (float(v) for v in annot["/Rect"])
    except (KeyError, ValueError, TypeError):
        return (0.0, 0.0, 0.0, 0.0)
    return (min(a, c), min(b, d), max(a, c), max(b, d))


def _page_refs(
    pages_raw: object, max_pages: int
) -> Iterator[tuple[generic.IndirectObject, tuple[generic.IndirectObject, ...]]]:
    """(page reference, its ancestors) in page order; the tree walk is bounded."""
    if not isinstance(pages_raw, generic.IndirectObject):
        return
    stack: list[tuple[generic.IndirectObject, tuple[generic.IndirectObject, ...]]] = [(pages_raw, ())]
    seen: set[Ref] = set()
    count = 0
    while stack:
        node_ref, chain = stack.pop()
        key = (node_ref.idnum, node_ref.generation)
        if key in seen or len(chain) > MAX_TREE_DEPTH:
            continue
        seen.add(key)
        node = node_ref.get_object()
        if not isinstance(node, generic.DictionaryObject):
            continue
        if node.get("/Type") == "/Pages" or "/Kids" in node:
            kids = node.get("/Kids")
            if isinstance(kids, generic.ArrayObject):
                children = [kids.raw_get(i) for i in range(len(kids))]
                stack.extend(
                    (child, (*chain, node_ref))
                    for child in reversed(children)
                    if isinstance(child, generic.IndirectObject)
                )
        else:
            count += 1
            if count > max_pages:
                return
            yield node_ref, chain


def page_changes(
    reader: PdfFileReader, document: DocumentObjects, revision: int, *, max_pages: int
) -> list[PageChange] | None:
    """Pages changed after `revision`, or None when the pages themselves changed (added,
    removed or reordered): that is visible whatever is drawn on them."""
    historical = reader.get_historical_resolver(revision)
    # the trailer's /Root dereferences through the reader (the latest catalog): resolve it in
    # the historical revision, whose objects then resolve their references there too
    root_ref = historical.trailer_view.raw_get("/Root")
    old_root = historical.get_object(generic.Reference(root_ref.idnum, root_ref.generation, historical))
    if document.tree_revision > revision:
        old_refs = [(r.idnum, r.generation) for r, _ in _page_refs(old_root.raw_get("/Pages"), max_pages)]
        if old_refs != [p.ref for p in document.pages]:
            return None
    # optional content and NeedAppearances change how every page is drawn
    old_need = _need_appearances(old_root)
    defaults_changed = (
        document.form_defaults_revision > revision or _form_defaults(old_root) != document.form_defaults
    )
    if defaults_changed and document.form_defaults and document.form_defaults[-1] is not None:
        return None  # XFA changed: what XFA viewers show cannot be rendered here
    everything = (
        document.global_revision > revision
        or old_need != document.need_appearances
        or (document.need_appearances and defaults_changed)
    )
    changes: list[PageChange] = []
    for index, page in enumerate(document.pages):
        annots_touched = page.annots_revision > revision or any(a.revision > revision for a in page.annots)
        if not (
            everything or page.own_revision > revision or page.dict_revision > revision or annots_touched
        ):
            continue
        old_page = historical.get_object(generic.Reference(*page.ref, historical))
        content_changed = (
            everything
            or page.own_revision > revision
            or not _same_except_annots(old_page, reader.get_object(generic.Reference(*page.ref, reader)))
        )
        old_annots = _annot_refs(old_page)
        removed = bool(old_annots - {a.ref for a in page.annots if a.ref is not None})
        changed = [
            a for a in page.annots if a.ref is None or a.ref not in old_annots or a.revision > revision
        ]
        if not (content_changed or removed) and all(_area(a.rect) == 0 for a in changed):
            continue  # only annotations without area changed (invisible signatures): nothing drawn
        changes.append(
            PageChange(
                index=index,
                content_changed=content_changed or removed,
                signature_rects=tuple(a.rect for a in changed if a.signature),
                field_rects=tuple(a.rect for a in changed if a.widget and not a.signature),
                other_rects=tuple(a.rect for a in changed if not a.widget),
                earlier_signature_rects=tuple(
                    a.rect for a in page.annots if a.signature and _area(a.rect) > 0 and a not in changed
                ),
            )
        )
    return changes


def _area(box: Box) -> float:
    return (box[2] - box[0]) * (box[3] - box[1])


def _same_except_annots(old: object, new: object) -> bool:
    if not isinstance(old, generic.DictionaryObject) or not isinstance(new, generic.DictionaryObject):
        return False
    keys = (set(old) | set(new)) - {"/Annots"}
    return all(k in old and k in new and old.raw_get(k) == new.raw_get(k) for k in keys)


def _annot_refs(page: object) -> set[Ref]:
    if not isinstance(page, generic.DictionaryObject) or "/Annots" not in page:
        return set()
    annots = page["/Annots"]
    if not isinstance(annots, generic.ArrayObject):
        return set()
    refs = (annots.raw_get(i) for i in range(len(annots)))
    return {(r.idnum, r.generation) for r in refs if isinstance(r, generic.IndirectObject)}
