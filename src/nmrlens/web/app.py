"""The nmrlens REST API and web page (FastAPI).

Endpoints (JSON in and out; spectra and queries in the nmrlens JSON format of :mod:`nmrlens.io.json`):

==================  ==========================================================================
``GET /health``     status, version, components and limits
``POST /predict``   ``{"smiles", "nuclei"?, "frequency_MHz"?}`` -> predicted 13C/1H spectra
``POST /search``    ``{query|text|file, "formula"?, "k"?}`` -> library hits (needs ``--library``)
``POST /generate``  ``{query|text|file, "formula"?, "beam"?, "k"?}`` -> de novo candidates
``POST /assign``    ``{"smiles", query|text|file}`` -> atom <-> peak assignment
``POST /classify2d`` ``{"hsqc"?, "hmbc"?, "task"?, "explain"?}`` (images as base64 or 2D peak lists)
``POST /elucidate`` ``{query|text|file, "formula"?, "beam"?, "k"?}`` -> ranked, assigned candidates
``GET /``           the single-page web UI (no outside resources)
==================  ==========================================================================

Bad input gives a 4xx with ``{"error": {"field", "value", "allowed", "message"}}``: 413 for a
request body over the limit, 422 for a field out of range or malformed, 400 for a body that is
not JSON, 503 for a component that is not installed.
"""


import base64
import binascii
import logging
import re
from typing import Any, Literal

from nmrlens.errors import NmrLensError, SpectrumFormatError, short_repr
from nmrlens.web.services import Services, Settings, Unavailable

__all__ = ["create_app"]

logger = logging.getLogger(__name__)

#: What a field allows, for errors whose message does not say it.
_ALLOWED = {
    "smiles": "a valid SMILES of one connected, supported molecule (1..100 heavy atoms of H C N O S F Cl Br I P Si B Se)",
    "molecule": "one connected, supported molecule (1..100 heavy atoms of H C N O S F Cl Br I P Si B Se)",
    "formula": "a molecular formula such as C9H10O2",
}
_FIELD_RE = re.compile(r"^([A-Za-z0-9_.\[\]\-]{1,80}): (?:got (.{0,200}?), expected (.*))?")


def _error_body(exc: Exception, field: str | None = None) -> dict[str, Any]:
    """The error JSON: field, value, allowed and the full message."""
    msg = str(exc)
    if isinstance(exc, SpectrumFormatError):
        return {"error": {"field": exc.field, "value": short_repr(exc.value), "allowed": exc.allowed, "message": msg}}
    m = _FIELD_RE.match(msg)
    value = allowed = None
    if m is not None:
        field = field or m.group(1)
        value, allowed = m.group(2), m.group(3)
    if allowed is None and field in _ALLOWED:
        allowed = _ALLOWED[field]
    return {"error": {"field": field, "value": value, "allowed": allowed, "message": msg}}


def create_app(settings: Settings | None = None, *, preload: bool = False) -> Any:
    """Build the FastAPI application (models are loaded once per app and shared by all requests).

    Args:
        settings: limits and options (default :class:`Settings`).
        preload: load the main models at start-up instead of on the first request.
    """
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import HTMLResponse, JSONResponse, Response
    from pydantic import BaseModel, ConfigDict, Field

    from nmrlens import __version__

    settings = settings or Settings()
    services = Services(settings)
    if preload:
        services.preload()
    try:
        import torch

        torch.set_num_threads(max(1, settings.torch_threads))
    except ImportError:  # pragma: no cover - torch is a dependency
        pass

    # /docs and /redoc would load their scripts from a CDN: the schema is served as /openapi.json only
    app = FastAPI(title="nmrlens", version=__version__, docs_url=None, redoc_url=None,
                  description="NMR spectra to structures: predict, search, generate, assign, classify2d, elucidate.")
    app.state.services = services
    app.state.settings = settings
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)

    # -- errors ----------------------------------------------------------------------------------
    @app.exception_handler(Unavailable)
    async def _unavailable(request: Request, exc: Unavailable) -> JSONResponse:
        return JSONResponse(_error_body(exc), status_code=503)

    @app.exception_handler(NmrLensError)
    async def _bad_input(request: Request, exc: NmrLensError) -> JSONResponse:
        return JSONResponse(_error_body(exc), status_code=422)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errs = exc.errors()
        first = errs[0] if errs else {}
        loc = [str(x) for x in first.get("loc", ()) if x != "body"]
        field = ".".join(loc) or "body"
        kind = str(first.get("type", ""))
        if kind in ("json_invalid", "model_attributes_type") or (not loc and kind.endswith("_type")):
            body = {"error": {"field": "body", "value": None, "allowed": "a JSON object",
                              "message": f"body: {first.get('msg', 'not a JSON object')}"}}
            return JSONResponse(body, status_code=400 if kind == "json_invalid" else 422)
        ctx = first.get("ctx") or {}
        allowed = _allowed_text(kind, ctx, str(first.get("msg", "")))
        value = short_repr(first.get("input"))
        body = {"error": {"field": field, "value": value, "allowed": allowed,
                          "message": f"{field}: got {value}, expected {allowed}"}}
        return JSONResponse(body, status_code=422)

    # -- request bodies --------------------------------------------------------------------------
    class FileInput(BaseModel):
        model_config = ConfigDict(extra="forbid")
        name: str = Field(max_length=300, description="file name; its extension selects the format")
        content: str = Field(description="the file's text")

    class QueryInput(BaseModel):
        model_config = ConfigDict(extra="forbid")
        query: dict[str, Any] | list[Any] | None = Field(None, description="nmrlens JSON: a spectrum, a query or a list of spectra")
        text: str | None = Field(None, description="literature text, JCAMP-DX or NMReDATA text")
        file: FileInput | None = None
        formula: str | None = Field(None, max_length=200)

    class PredictInput(BaseModel):
        model_config = ConfigDict(extra="forbid")
        smiles: str = Field(min_length=1, max_length=5000)
        nuclei: list[Literal["13C", "1H"]] = Field(default_factory=lambda: ["13C", "1H"], min_length=1, max_length=2)
        frequency_MHz: float = Field(400.0, ge=20.0, le=1500.0)
        svg: bool = False

    class SearchInput(QueryInput):
        k: int = Field(10, ge=1, le=settings.max_k)

    class GenerateInput(QueryInput):
        k: int = Field(10, ge=1, le=settings.max_k)
        beam: int = Field(10, ge=1, le=settings.max_beam)

    class ElucidateInput(QueryInput):
        k: int = Field(10, ge=1, le=settings.max_k)
        beam: int | None = Field(None, ge=1, le=settings.max_beam)
        assign_top: int = Field(3, ge=0, le=10)
        svg: bool = True

    class AssignInput(QueryInput):
        smiles: str = Field(min_length=1, max_length=5000)
        svg: bool = True

    class Image2D(BaseModel):
        model_config = ConfigDict(extra="forbid")
        image: str | None = Field(None, description="PNG/JPEG as base64 or a data: URL")
        spectrum: dict[str, Any] | None = Field(None, description="a 2D peak list in nmrlens JSON")

    class Classify2DInput(BaseModel):
        model_config = ConfigDict(extra="forbid")
        hsqc: Image2D | None = None
        hmbc: Image2D | None = None
        task: Literal["substructure", "superclass", "simulated"] = "substructure"
        explain: Literal["gradcam", "gradcam++", "occlusion", "none"] = "gradcam"

    # -- helpers ---------------------------------------------------------------------------------
    def parse_query(body: QueryInput) -> Any:
        from nmrlens.pipeline.query import load_query, query_from_text, sniff_format, with_formula

        given = [n for n in ("query", "text", "file") if getattr(body, n) is not None]
        if len(given) != 1:
            raise SpectrumFormatError("query", ", ".join(given) or "none",
                                      "exactly one of query (JSON), text or file")
        if body.query is not None:
            if isinstance(body.query, list):
                from nmrlens.io import merge_queries
                from nmrlens.io.json import load_obj

                q = load_query(merge_queries(load_obj(body.query), source="query"))
            else:
                q = load_query(body.query)
        else:
            text = body.text if body.text is not None else body.file.content  # type: ignore[union-attr]
            field = "text" if body.text is not None else "file.content"
            if len(text) > settings.max_text_chars:
                raise SpectrumFormatError(field, f"{len(text)} characters", f"at most {settings.max_text_chars} characters")
            fmt = None
            if body.file is not None:
                from nmrlens import io
                from nmrlens.errors import FileFormatError

                try:
                    fmt = io.guess_format(body.file.name)
                except FileFormatError:
                    fmt = sniff_format(text)
            try:
                q = query_from_text(text, fmt, source=field)
            except SpectrumFormatError:
                raise
            except NmrLensError as exc:
                raise SpectrumFormatError(field, text[:40], f"a spectrum as literature text, JSON, JCAMP-DX or NMReDATA ({exc})") from None
        for i, sp in enumerate(q.spectra):
            if len(sp) > settings.max_peaks:
                raise SpectrumFormatError(f"query.spectra[{i}].peaks", f"{len(sp)} peaks", f"at most {settings.max_peaks} peaks")
        return with_formula(q, body.formula)

    def guarded(func: Any, *args: Any, **kwargs: Any) -> Any:
        with services.compute:
            return func(*args, **kwargs)

    def add_svgs(out: dict[str, Any]) -> None:
        from nmrlens.pipeline.draw import molecule_svg

        for c in out.get("candidates", []):
            try:
                c["svg"] = molecule_svg(c["smiles"])
            except NmrLensError:
                c["svg"] = None

    # -- endpoints -------------------------------------------------------------------------------
    @app.get("/health")
    def health() -> dict[str, Any]:
        """Service status, version, components and limits."""
        return {"status": "ok", "version": __version__, "components": services.components(),
                "limits": {"max_body_bytes": settings.max_body_bytes, "max_text_chars": settings.max_text_chars,
                           "max_peaks": settings.max_peaks, "max_beam": settings.max_beam, "max_k": settings.max_k}}

    @app.post("/predict")
    def predict(body: PredictInput) -> dict[str, Any]:
        """Predicted 13C peak list and 1H multiplets (nmrlens JSON) and per-atom shifts of a molecule."""
        from dataclasses import asdict

        from nmrlens import api
        from nmrlens.io.json import query_to_dict

        services.predictor()
        pred = guarded(api.predict, body.smiles, nuclei=body.nuclei, frequency_MHz=body.frequency_MHz)
        out = {"smiles": pred.smiles, "formula": pred.query.formula, "query": query_to_dict(pred.query),
               "atoms": [asdict(a) for a in pred.atoms]}
        if body.svg:
            from nmrlens.pipeline.draw import molecule_svg

            out["svg"] = molecule_svg(pred.smiles)
        return out

    @app.post("/search")
    def search(body: SearchInput) -> dict[str, Any]:
        """Library entries whose experimental spectra are most similar to the query's."""
        q = parse_query(body)
        src = services.library_source()
        cands = guarded(src.candidates, q, formula=q.formula, k=body.k)
        hits = [{"rank": i + 1, "smiles": c.smiles, "inchikey": c.inchikey, "formula": c.formula,
                 "score": round(float(c.source_scores.get(src.name, 0.0)), 6), "library_id": c.library_id}
                for i, c in enumerate(cands)]
        return {"formula": q.formula, "hits": hits}

    @app.post("/generate")
    def generate(body: GenerateInput) -> dict[str, Any]:
        """De novo candidates (beam search), scored with their predicted spectra."""
        q = parse_query(body)
        pipe = services.generator_pipeline()
        res = guarded(pipe.run, q, k=body.k, beam=body.beam)
        out = res.to_dict(spectra=False)
        add_svgs(out)
        return out

    @app.post("/assign")
    def assign(body: AssignInput) -> dict[str, Any]:
        """Atom <-> peak assignment of a molecule to the query's spectra."""
        from nmrlens.io.json import query_to_dict

        q = parse_query(body)
        pred = guarded(services.predictor().predict, [body.smiles])[0]
        if pred is None:
            from nmrlens.chem.validate import check_supported, to_mol

            check_supported(to_mol(body.smiles))  # raises with the reason
            raise SpectrumFormatError("smiles", body.smiles, "a molecule the shift model supports")
        assignment = guarded(services.assigner().assign, pred.smiles, q, pred.query)
        out = {"smiles": pred.smiles, "formula": pred.query.formula, **assignment.to_dict(),
               "predicted": query_to_dict(pred.query)}
        if body.svg:
            from nmrlens.pipeline.draw import molecule_svg

            out["svg"] = molecule_svg(pred.smiles)
        return out

    @app.post("/classify2d")
    def classify2d(body: Classify2DInput) -> dict[str, Any]:
        """Substructure or compound-class probabilities of HSQC/HMBC spectra, with heatmap overlays (PNG data URLs)."""
        from nmrlens.models.classify2d import classify2d as run_classify2d

        inputs = {name: _image_input(getattr(body, name), name, settings) for name in ("hsqc", "hmbc")
                  if getattr(body, name) is not None}
        if not inputs:
            raise SpectrumFormatError("hsqc", None, "an HSQC and/or an HMBC spectrum (image or 2D peak list)")
        clf = services.classifier(body.task)
        explain = None if body.explain == "none" else body.explain
        res = guarded(run_classify2d, inputs.get("hsqc"), inputs.get("hmbc"), classifier=clf, explain=explain)
        from nmrlens.spectra.render2d import png_bytes

        heat = {}
        if res.heatmaps:
            from nmrlens.explain.overlay import overlay

            for b, h in res.heatmaps.items():
                heat[b] = "data:image/png;base64," + base64.b64encode(png_bytes(overlay(res.images[b], h, 0.5))).decode()
        images = {b: "data:image/png;base64," + base64.b64encode(png_bytes(img)).decode() for b, img in res.images.items()}
        c = res.classification
        return {"task": body.task, "label": c.label, "probabilities": c.probabilities, "experiments": list(c.experiments),
                "explained_class": res.explained_class, "method": res.method, "images": images, "heatmaps": heat}

    @app.post("/elucidate")
    def elucidate(body: ElucidateInput) -> dict[str, Any]:
        """Ranked candidate structures (library + de novo), fused scores, predicted spectra and assignments."""
        q = parse_query(body)
        el = services.elucidator()
        res = guarded(el.run, q, k=body.k, beam=body.beam, assign_top=body.assign_top)
        out = res.to_dict(spectra=True)
        if body.svg:
            add_svgs(out)
        return out

    # -- the web page ----------------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> HTMLResponse:
        return HTMLResponse(_static("index.html"))

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        types = {"app.js": "text/javascript", "app.css": "text/css", "example.txt": "text/plain"}
        if name not in types:
            return JSONResponse({"error": {"field": "name", "value": name, "allowed": ", ".join(types),
                                           "message": f"name: got {name!r}, expected one of {', '.join(types)}"}},
                                status_code=404)
        return Response(_static(name), media_type=types[name])

    return app


def _allowed_text(kind: str, ctx: dict[str, Any], msg: str) -> str:
    if "le" in ctx and "ge" in ctx:
        return f"a number in {ctx['ge']}..{ctx['le']}"
    if "le" in ctx:
        return f"a number <= {ctx['le']}"
    if "ge" in ctx:
        return f"a number >= {ctx['ge']}"
    if "max_length" in ctx:
        return f"at most {ctx['max_length']} characters/items"
    if "min_length" in ctx:
        return f"at least {ctx['min_length']} characters/items"
    if "expected" in ctx:
        return f"one of {ctx['expected']}"
    if kind == "extra_forbidden":
        return "no such field (see the OpenAPI schema at /openapi.json)"
    if kind == "missing":
        return "a value (the field is required)"
    return msg


def _image_input(item: Any, name: str, settings: Settings) -> Any:
    """A 2D input for classify2d: decoded image bytes or a Spectrum2D."""
    if (item.image is None) == (item.spectrum is None):
        raise SpectrumFormatError(name, "both" if item.image else "none", "exactly one of image (base64) or spectrum")
    if item.spectrum is not None:
        from nmrlens.io.json import spectrum2d_from_dict

        sp = spectrum2d_from_dict(item.spectrum, f"{name}.spectrum")
        if len(sp.peaks) > settings.max_peaks:
            raise SpectrumFormatError(f"{name}.spectrum.peaks", f"{len(sp.peaks)} peaks", f"at most {settings.max_peaks}")
        return sp
    text = item.image
    if text.startswith("data:"):
        text = text.split(",", 1)[-1]
    if len(text) > settings.max_image_bytes * 4 // 3 + 4:
        raise SpectrumFormatError(f"{name}.image", f"{len(text)} base64 characters", f"at most {settings.max_image_bytes} bytes")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise SpectrumFormatError(f"{name}.image", short_repr(text[:20]), "a PNG or JPEG image as base64") from None
    from nmrlens.models.classify2d import load_image

    return load_image(raw)


def _static(name: str) -> str:
    from importlib import resources

    return resources.files("nmrlens.web").joinpath("static", name).read_text(encoding="utf-8")


class BodyLimit:
    """ASGI middleware: refuse request bodies above ``max_bytes`` with 413 (declared or streamed)."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = int(max_bytes)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = next((v for k, v in scope.get("headers", ()) if k == b"content-length"), None)
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                size = -1
            if size < 0 or size > self.max_bytes:
                await self._refuse(send, size)
                return
        seen = 0
        refused = False

        async def limited() -> Any:
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    refused = True
                    raise _TooLarge()
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await self._refuse(send, seen)

    async def _refuse(self, send: Any, size: int) -> None:
        import json

        body = json.dumps({"error": {"field": "body", "value": f"{size} bytes", "allowed": f"at most {self.max_bytes} bytes",
                                     "message": f"body: got {size} bytes, expected at most {self.max_bytes} bytes"}}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass
