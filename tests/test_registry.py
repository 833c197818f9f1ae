"""The registry set is pinned: a rename breaks reference configs, so it must be deliberate."""

from __future__ import annotations

import pytest

from djsandbox.catalog import FACTORIES, HOOKS, describe

REFERENCE_HOOKS = {
    "ProbeViaAnalyzerHook",
    "ProbeViaModelInferHook",
    "GeneralProbeHook",
    "RefineRecipeViaKSigmaHook",
    "RefineRecipeViaModelFeedbackHook",
    "ProcessDataHook",
    "DataPoolManipulationHook",
    "GeneralDataExecutorHook",
    "TrainModelHook",
    "InferModelHook",
    "EvaluateDataHook",
    "EvaluateModelHook",
}

REFERENCE_TYPES = {
    "DataPoolManipulator": {
        "data_pool_construction",
        "data_pool_combination",
        "data_pool_duplication",
        "data_pool_downsampling",
        "data_pool_ranking",
        "data_pool_merging",
        "data_pool_cartesian_join",
    },
    "GeneralDataExecutor": {
        "coco_caption_to_dj_conversion",
        "coco_caption_meta_generation",
        "dj_to_easyanimate_video_dataset_conversion",
        "captions_to_internvl_conversion",
        "video_clips_to_dj_conversion",
    },
    "GeneralProbe": {"data_pool_ranking"},
    "DataEvaluator": {
        "dj_text_quality_classifier",
        "vbench_video_evaluator",
        "video_inception_evaluator",
        "accuracy",
        "mse",
        "text_quality_classifier",
    },
    "ModelInferEvaluator": {"modelscope"},
    "ModelTrainExecutor": {
        "modelscope",
        "easyanimate",
        "trinity-rft",
        "internvl_coco_caption",
        "text_classifier",
        "huggingface",
    },
    "ModelInferExecutor": {"easyanimate", "huggingface", "vllm", "api"},
    "ModelEvaluator": {"internvl_coco_caption", "text_classifier"},
}


def builtin(names):
    return {n for n in names if not n.startswith("test_")}  # test plugins register test_*


def test_hooks_are_the_twelve_reference_names():
    assert set(HOOKS.names()) == REFERENCE_HOOKS


def test_factory_types_are_pinned():
    assert set(FACTORIES) == set(REFERENCE_TYPES)
    for kind, names in REFERENCE_TYPES.items():
        assert builtin(FACTORIES[kind].names()) == names, kind


def test_available_entries_import_and_unavailable_ones_say_why():
    for registry in [HOOKS, *FACTORIES.values()]:
        for entry in registry:
            if entry.unavailable:
                assert entry.unavailable.startswith("not built yet: "), entry.name
                with pytest.raises(LookupError, match="not available"):
                    entry.load()
            else:
                assert callable(entry.load()), entry.name


def test_unknown_name_suggests_the_closest():
    with pytest.raises(KeyError, match="Did you mean 'data_pool_merging'"):
        FACTORIES["DataPoolManipulator"].get("data_pool_merge")


def test_user_registration_and_duplicates():
    from djsandbox.registry import ComponentSpec, Registry

    reg = Registry("Thing")

    @reg.register("mine", results=2)
    def mine(cfg, out_dir):
        return 1, 2

    assert reg.get("mine").load() is mine and reg.get("mine").results == 2
    with pytest.raises(ValueError, match="already registered"):
        reg.add(ComponentSpec("Thing", "mine", mine))


def test_listing_mentions_everything():
    text = describe()
    for registry in [HOOKS, *FACTORIES.values()]:
        for entry in registry:
            assert entry.name in text
