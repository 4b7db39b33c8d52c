"""Loading a saved pipeline with errors that say which path and which component failed.

``spacy.load`` reports a weights file cut short as ``Unpack failed: incomplete input``, an
unknown architecture without the file that names it, and spacy-transformers loads weights
that don't fit the encoder's config with ``strict=False`` and only a warning, so that a
half-loaded encoder predicts garbage. :func:`load_pipeline` turns each into a
:class:`PipelineLoadError` naming the pipeline's path and the component.
"""

import re
import types
import warnings
from io import BytesIO
from pathlib import Path
from typing import Any, Optional, Tuple, Union

import spacy
import srsly
from spacy.language import Language
from spacy.pipeline import Pipe

STRICT_WARNING = "Error loading saved torch state_dict with strict=True"
# buffers that transformers versions add or drop without changing the weights
BENIGN_KEYS = re.compile(r"(^|\.)position_ids$")
SECTION = re.compile(r"^\[components\.([^.\]]+)")
UNKNOWN_FUNCTION = re.compile(r"Could not find function '([^']+)' in function registry '([^']+)'")


class PipelineLoadError(ValueError):
    """A saved pipeline that can't be loaded whole: names the path and the component."""


def load_pipeline(name: Union[str, Path], **kwargs: Any) -> Language:
    """``spacy.load(name, **kwargs)``; a failure, or encoder weights that don't fit their
    config, raises PipelineLoadError naming the path and the component."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            nlp = spacy.load(name, **kwargs)
        except OSError as err:
            if "[E050]" in str(err):  # nothing at that name: spaCy's message says so
                raise
            raise PipelineLoadError(_describe(name, err)) from err
        except Exception as err:
            raise PipelineLoadError(_describe(name, err)) from err
    strict_failed = False
    for warning in caught:
        if STRICT_WARNING in str(warning.message):
            strict_failed = True
        else:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    if strict_failed:
        _check_encoder_weights(nlp, name)
    return nlp


def _describe(name: Union[str, Path], err: Exception) -> str:
    """``PATH: component NAME: what failed`` for an exception raised by ``spacy.load``."""
    text = _unknown_function(" ".join(str(err).split())) or type(err).__name__
    component, part = _failing_component(err.__traceback__)
    if component is None:
        component = _component_in_config(name, text)
    where = f"{name}: component {component}" if component else str(name)
    if part is not None:
        return f"{where}: {part} can't be read (cut short or corrupt?): {text}"
    return f"{where}: {text}"


def _unknown_function(text: str) -> str:
    """spaCy's E893 (a function not in the registry) without its list of every name, with
    the versions of that function this installation has."""
    match = UNKNOWN_FUNCTION.search(text)
    if match is None:
        return text
    function, registry = match.groups()
    family = function.rsplit(".", 1)[0] + "."
    names = re.findall(r"[\w.-]+", text.partition("Available names:")[2])
    available = [n for n in names if n.startswith(family)]
    return (
        f"unknown {registry} function {function!r}"
        + (f" (this installation has {', '.join(available)})" if available else "")
        + ": was the pipeline saved by a newer version of a package, or its config edited?"
    )


def _failing_component(
    traceback: Optional[types.TracebackType],
) -> Tuple[Optional[str], Optional[str]]:
    """The component whose ``from_disk`` raised, and the path it was reading."""
    component = part = None
    while traceback is not None:
        frame = traceback.tb_frame
        owner = frame.f_locals.get("self")
        if isinstance(owner, Pipe) and "path" in frame.f_locals:
            component = getattr(owner, "name", None)
            part = str(frame.f_locals["path"])
        traceback = traceback.tb_next
    return component, part


def _component_in_config(name: Union[str, Path], text: str) -> Optional[str]:
    """The component whose config section names a function the error quotes."""
    config = Path(name) / "config.cfg"
    if not config.is_file():
        return None
    quoted = set(re.findall(r"'([^']+)'", text))
    section = None
    for line in config.read_text(encoding="utf8").splitlines():
        match = SECTION.match(line)
        if match:
            section = match.group(1)
        elif line.startswith("["):
            section = None
        elif section and "=" in line:
            value = line.split("=", 1)[1].strip().strip('"')
            if value in quoted:
                return section
    return None


def _check_encoder_weights(nlp: Language, name: Union[str, Path]) -> None:
    """Raise where a transformer component's saved weights miss or add parameters beyond
    the buffers transformers versions differ in."""
    for component, pipe in nlp.pipeline:
        path = Path(nlp.path or name) / component / "model"
        if not path.is_file() or not hasattr(pipe, "model"):
            continue
        saved = _saved_state_keys(path)
        if saved is None:
            continue
        expected = _model_state_keys(pipe.model)
        missing = sorted(k for k in expected - saved if not BENIGN_KEYS.search(k))
        unexpected = sorted(k for k in saved - expected if not BENIGN_KEYS.search(k))
        if missing or unexpected:
            raise PipelineLoadError(
                f"{name}: component {component}: the encoder's weights in {path} don't fit its "
                f"config: {len(missing)} parameters missing (e.g. {missing[:2]}), "
                f"{len(unexpected)} unexpected (e.g. {unexpected[:2]}); a half-loaded encoder "
                "predicts garbage: retrain, or load the pipeline with the encoder it was saved with"
            )


def _saved_state_keys(path: Path) -> Optional[set]:
    """The parameter names of the PyTorch modules saved in a Thinc model file (its shims'
    ``state``), or None for a file without any."""
    import torch

    message = srsly.msgpack_loads(path.read_bytes())
    keys: set = set()
    found = False
    for node_shims in message.get("shims", []) if isinstance(message, dict) else []:
        for shim_bytes in node_shims:
            shim = srsly.msgpack_loads(shim_bytes)
            if isinstance(shim, dict) and isinstance(shim.get("state"), bytes):
                found = True
                keys.update(torch.load(BytesIO(shim["state"]), map_location="cpu").keys())
    return keys if found else None


def _model_state_keys(model: Any) -> set:
    keys: set = set()
    for node in model.walk():
        for shim in node.shims:
            module = getattr(shim, "_model", None)
            if module is not None and hasattr(module, "state_dict"):
                keys.update(module.state_dict().keys())
    return keys
