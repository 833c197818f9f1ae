"""GeneralDataExecutor components: format converters between caption sets, InternVL/LLaVA
captions, Data-Juicer's multimodal format and EasyAnimate's video dataset format.

One module per component type, each with its own ``SPECS`` (listed in the catalog), plus
``common`` for what they share:

- ``coco_caption_to_dj``: ``coco_caption_to_dj_conversion`` (and back, ``convert_to: internvl``)
- ``coco_caption_meta``: ``coco_caption_meta_generation``
- ``dj_to_easyanimate``: ``dj_to_easyanimate_video_dataset_conversion``
- ``captions_to_internvl``: ``captions_to_internvl_conversion`` (ours: caption-list rows)

The first three are the reference DJ-Sandbox's (``specific_hooks/intervl_coco_captioning`` and
``specific_hooks/text_to_video``) with its type names, config keys and output names, so its
configs run unchanged: ``dataset_path`` (one path or a list), ``export_path`` (a folder; here
it defaults to the job folder), one output per input named ``<stem>_dj_fmt.jsonl``,
``<stem>_meta.json`` or ``<stem>_ea_fmt.json``, and the result is the list of output paths
(pools grouped per stat give outputs of the same shape).

Deviations, each so that a mistake fails loudly rather than training on the wrong data: a
missing input, a row without the needed key, or two inputs that would write the same output
name is a ``ValueError`` naming file, row and key (the reference skips missing inputs and
crashes with a bare ``KeyError``); no output file is written unless every one succeeds; the
deviations of each converter are in its module.

This package re-exports the reference converters' API, and ``SPECS`` here is theirs together
(the catalog lists the modules, not this package). Imports are stdlib only.
"""

from __future__ import annotations

from . import coco_caption_meta, coco_caption_to_dj, dj_to_easyanimate
from .coco_caption_meta import check_coco_caption_meta, run_coco_caption_meta
from .coco_caption_to_dj import check_coco_caption_to_dj, run_coco_caption_to_dj
from .common import DEFAULT_CAPTION_PROMPT, INTERNVL_IMAGE_TOKEN
from .dj_to_easyanimate import check_dj_to_easyanimate, run_dj_to_easyanimate

COCO_TO_DJ = coco_caption_to_dj.NAME
META = coco_caption_meta.NAME
DJ_TO_EASYANIMATE = dj_to_easyanimate.NAME
SPECS = coco_caption_to_dj.SPECS + coco_caption_meta.SPECS + dj_to_easyanimate.SPECS

__all__ = [
    "COCO_TO_DJ",
    "META",
    "DJ_TO_EASYANIMATE",
    "SPECS",
    "DEFAULT_CAPTION_PROMPT",
    "INTERNVL_IMAGE_TOKEN",
    "check_coco_caption_to_dj",
    "run_coco_caption_to_dj",
    "check_coco_caption_meta",
    "run_coco_caption_meta",
    "check_dj_to_easyanimate",
    "run_dj_to_easyanimate",
]
