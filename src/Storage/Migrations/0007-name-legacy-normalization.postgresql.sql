-- Jobs stored before normalization was a hyperparameter name none (no "normalization" key, or
-- null) and were built with their architecture's default: name it, so every stored job says which
-- model it built and nothing that reads a job has to know the defaults of the time. Jobs of an
-- architecture this service does not know are left as they are.
UPDATE jobs
SET hyperparameters = jsonb_set(hyperparameters, '{normalization}',
        CASE architecture WHEN 'convnet' THEN '"none"' WHEN 'resnet18' THEN '"batch"' ELSE '"layer"' END::jsonb)
WHERE architecture IN ('convnet', 'resnet18', 'attention')
  AND hyperparameters ->> 'normalization' IS NULL;
