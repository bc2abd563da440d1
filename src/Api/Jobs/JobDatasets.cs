using TrainingService.Api.Datasets;
using TrainingService.Api.Infrastructure;
using TrainingService.Contracts;
using TrainingService.Contracts.Architectures;
using TrainingService.Contracts.Datasets;
using TrainingService.Contracts.Training;

namespace TrainingService.Api.Jobs;

/// <summary>
/// The <c>dataset</c> of a job being submitted: which one, checked against the architecture (the
/// model is built for the dataset's geometry, and each architecture takes only the geometries it
/// lists) and the hyperparameters. A training job names one or trains on MNIST; an eval job
/// evaluates on its source's dataset unless it names another of the same geometry.
/// </summary>
public static class JobDatasets
{
    public const string Field = "dataset";

    /// <summary>The dataset's name as the job stores it (an upload's id in its 36-character form), or null with the reasons in <paramref name="errors"/>.</summary>
    public static async Task<string?> ResolveAsync(
        string? requested, JobKind kind, JobRecord? sourceJob, ArchitectureInfo? architecture, Hyperparameters? hyperparameters,
        DatasetLookup datasets, FieldErrors errors, CancellationToken cancellationToken)
    {
        if (requested is not null && (requested.Length is 0 or > 64 || requested.Any(char.IsControl)))
        {
            errors.Add(Field, Expected($"got '{Problems.Shorten(requested)}'"));
            return null;
        }

        DatasetInfo? dataset;
        if (kind == JobKind.Eval)
        {
            if (sourceJob is null)
                return null; // the source's own errors say why
            var trainedOn = await datasets.FindAsync(sourceJob.Dataset, cancellationToken);
            if (requested is null && trainedOn is null)
            {
                errors.Add(Field, $"The source job trained on dataset {sourceJob.Dataset}, which no longer exists; name a dataset of the same geometry to evaluate on.");
                return null;
            }
            dataset = requested is null ? trainedOn : await FindAsync(requested, datasets, errors, cancellationToken);
            if (dataset is not null && trainedOn is not null && dataset.Geometry != trainedOn.Geometry)
            {
                errors.Add(Field, $"An eval job evaluates on a dataset of its source's geometry ({trainedOn.Geometry}, dataset {trainedOn.Name}); dataset {dataset.Name} has {dataset.Geometry}.");
                return null;
            }
        }
        else
        {
            dataset = await FindAsync(requested ?? DatasetCatalog.DefaultName, datasets, errors, cancellationToken);
        }

        if (dataset is null || architecture is null)
            return dataset?.Name;
        if (architecture.GeometryProblem(dataset.Geometry, dataset.Name) is { } problem)
        {
            errors.Add(Field, problem);
            return null;
        }
        if (kind == JobKind.Train && hyperparameters?.TrainSubset is { } subset && subset > dataset.TrainCount)
            errors.Add("hyperparameters.trainSubset", $"Dataset {dataset.Name} has {dataset.TrainCount} training images; trainSubset must be at most that.");
        return dataset.Name;
    }

    private static async Task<DatasetInfo?> FindAsync(string name, DatasetLookup datasets, FieldErrors errors, CancellationToken cancellationToken)
    {
        var dataset = await datasets.FindAsync(name, cancellationToken);
        if (dataset is null)
            errors.Add(Field, Expected(DatasetLookup.TryParseId(name, out var id) ? $"there is no dataset {id}" : $"got '{Problems.Shorten(name)}'"));
        return dataset;
    }

    private static string Expected(string got) =>
        $"Must be {DatasetCatalog.Names} or the id of an uploaded dataset (GET /datasets); {got}.";
}
