using TrainingService.Models.Architectures;
using TrainingService.Models.Checkpoints;
using TrainingService.Models.Data;

namespace TrainingService.Models.Training;

/// <summary>
/// A training run tied to its checkpoint folder: every epoch is checkpointed as it ends, <c>best</c>
/// and <c>final</c> are kept pointing at the right epochs, and a run whose folder already holds
/// checkpoints continues after the last one instead of starting again. Running it twice on the
/// same folder is therefore safe: the second call finishes what the first left undone.
/// </summary>
public static class CheckpointedTraining
{
    public static TrainingOutcome Run(
        TrainingPlan plan, MnistTensors train, MnistTensors test, CheckpointStore store,
        ITrainingObserver observer, CancellationToken cancellationToken, TrainingEngine? engine = null)
    {
        // Checkpoints record the normalization by name, so a manifest says what was built.
        plan = plan with { Hyperparameters = plan.Architecture.WithNormalizationNamed(plan.Hyperparameters) };
        var architecture = plan.Architecture.Name;
        var normalization = plan.Architecture.NormalizationOf(plan.Hyperparameters);
        store.CleanUpIncompleteWrites();
        var saved = store.List();
        var latest = saved.LastOrDefault();
        if (latest is not null && (latest.Architecture != architecture || !SameTraining(latest, plan.Hyperparameters)))
            throw new TrainingException(TrainingFailureKind.InvalidInput,
                $"The folder {store.StoreDirectory} holds checkpoints of a different run ({latest.Architecture}, {latest.Hyperparameters}); " +
                "resume needs the same architecture and hyperparameters.");

        var resume = latest is null ? null : new ResumeState(
            saved.Where(m => m.Metrics is not null && m.Epoch <= latest.Epoch).Select(m => m.Metrics!).ToList(),
            (model, optimizer) => store.Load(latest.Label, architecture, model, optimizer, normalization));

        var best = resume?.CompletedEpochs.MaxBy(e => e.TestAccuracy);
        var checkpointing = new CheckpointingObserver(store, plan, observer, best);
        var outcome = (engine ?? new TrainingEngine()).Train(plan with { Resume = resume }, train, test, checkpointing, cancellationToken);

        store.SetAlias(CheckpointStore.FinalAlias, outcome.Epochs[^1].Epoch);
        return outcome;
    }

    /// <summary>
    /// The device may differ between attempts (a GPU run resumed on another GPU); nothing else may.
    /// A manifest that names no normalization (written before it was a hyperparameter) had its
    /// architecture's default.
    /// </summary>
    private static bool SameTraining(CheckpointManifest saved, Hyperparameters planned) =>
        saved.Hyperparameters with { Device = planned.Device, Normalization = CheckpointStore.NormalizationOf(saved) } == planned;

    private sealed class CheckpointingObserver(CheckpointStore store, TrainingPlan plan, ITrainingObserver inner, EpochMetrics? best)
        : ITrainingObserver
    {
        public void OnProgress(TrainingProgress progress) => inner.OnProgress(progress);

        public void OnEpochCompleted(CompletedEpoch epoch)
        {
            // Checkpoint first: an observer that records the epoch as done must be able to rely on it.
            store.Save(epoch.Metrics.Epoch, plan.Architecture.Name, plan.Hyperparameters, epoch.Metrics, epoch.Model, epoch.Optimizer);
            if (best is null || epoch.Metrics.TestAccuracy > best.TestAccuracy)
            {
                best = epoch.Metrics;
                store.SetAlias(CheckpointStore.BestAlias, epoch.Metrics.Epoch);
            }
            inner.OnEpochCompleted(epoch);
        }
    }
}
