"""Data pools: split, intersect, repeat, downsample, merge, join and rank datasets as files.

One module per DataPoolManipulator component (reference `type` names), each exposing
``run(cfg, out_dir) -> results`` and ``check(cfg) -> list of "key: problem"``. Pools are
Arrow tables read from and written to JSONL (default) or Parquet (``export_format: parquet``);
every output is written atomically, and a failed run removes what it wrote.

=========================  =============================================  ==================
type                       keys (besides ``type``)                        result
=========================  =============================================  ==================
data_pool_construction     dataset_path, export_path, split_ratios,       {stat: [paths]}
                           split_num, ignore_stats, stats_keys,
                           export_format
data_pool_combination      dataset_path, export_path, export_format, key  [paths]
data_pool_duplication      dataset_path, export_path, export_format,      [paths]
                           duplicating_times, shuffle, shuffle_seed, seed
data_pool_downsampling     dataset_path, export_path, export_format,      [paths]
                           target_num_samples, shuffle_seed, seed
data_pool_merging          dataset_path, export_path, export_format       path
data_pool_cartesian_join   dataset_path_1, dataset_path_2, export_path,   [paths]
                           export_format, suffixes
data_pool_ranking          dataset_path, metrics, ranking_keys,           [paths]
                           descending, top_n
=========================  =============================================  ==================

Shared by the components: ``io`` (read and write tables, never a partial file), ``json_text``
(JSON lines <-> Arrow), ``line_file`` (a JSONL file's rows through a memory map, so JSONL to
JSONL pools never hold the rows in memory), ``stat_values`` (the stats construction sorts
by, parsed a block at a time) and ``options`` (paths, export folder/format, seeds, checks);
``labels`` names each pool by its composition (``text_len high ∩ num_words mid``) for reports.
Importing this package is cheap (stdlib only); pyarrow/numpy load when a component runs.
"""

from __future__ import annotations
