"""Commands around the pipeline: sweeps and their Pareto report, MLflow tracking,
fleets of rooms, replaying a log (``tinyad detect``), the dvc plots page, the summary,
and the progress and quiet-TensorFlow helpers they share."""
