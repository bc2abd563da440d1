using TrainingService.Contracts.Architectures;
using TrainingService.Models.Architectures;
using TrainingService.Contracts.Checkpoints;
using TrainingService.Models.Checkpoints;
using TrainingService.Models.Data;
using TrainingService.Contracts.Training;

namespace TrainingService.Models.Training;

/// <summary>
/// A training run tied to its checkpoint folder: every epoch is checkpointed as it ends, <c>best</c>
/// and <c>final</c> are kept pointing at the right epochs, and a run whose folder already holds
/// checkpoints continues after the last one instead of starting again. Running it twice on the
/// same folder is therefore safe: the second call finishes what the first left undone.
/// </summary>
/// <remarks>
/// A run suspended part-way through an epoch (see <c>suspend</c>) also leaves a mid-epoch
/// checkpoint in the <see cref="MidEpochFolder"/> sub-folder, as does an engine with a
/// <see cref="TrainingEngine.MidEpochCheckpointInterval"/> every so often, and the next run
/// continues at that step rather than at the epoch's start. It is not one of the run's checkpoints (listings and
/// downloads never see it) and is deleted once its epoch is checkpointed.
/// </remarks>
public static class CheckpointedTraining
{
    /// <summary>The sub-folder of a run's folder that holds its mid-epoch checkpoint, when it has one.</summary>
    public const string MidEpochFolder = "mid-epoch";

    /// <param name="cancellationToken">Stops the run at the next step boundary.</param>
    /// <param name="suspend">
    /// When the stop is this token's doing (a worker shutting down, not a user cancelling), the
    /// epoch in progress is checkpointed first, so the next run loses none of its steps.
    /// </param>
    public static TrainingOutcome Run(
        TrainingPlan plan, ImageTensors train, ImageTensors test, CheckpointStore store,
        ITrainingObserver observer, CancellationToken cancellationToken, TrainingEngine? engine = null,
        CancellationToken suspend = default)
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

        var completed = saved.Where(m => m.Metrics is not null).Select(m => m.Metrics!).ToList();
        var midEpochStore = new CheckpointStore(Path.Combine(store.StoreDirectory, MidEpochFolder));
        var midEpoch = FindMidEpoch(midEpochStore, (latest?.Epoch ?? 0) + 1, architecture, plan.Hyperparameters);
        var resume = midEpoch is not null
            ? new ResumeState(completed, (model, optimizer) => midEpochStore.Load(midEpoch.Label, architecture, model, optimizer, normalization))
                { MidEpoch = midEpoch.MidEpoch }
            : latest is not null
                ? new ResumeState(completed, (model, optimizer) => store.Load(latest.Label, architecture, model, optimizer, normalization))
                : null;

        var best = resume?.CompletedEpochs.MaxBy(e => e.TestAccuracy);
        var checkpointing = new CheckpointingObserver(store, midEpochStore, plan, observer, best, suspend);
        var outcome = (engine ?? new TrainingEngine()).Train(plan with { Resume = resume }, train, test, checkpointing, cancellationToken);

        store.SetAlias(CheckpointStore.FinalAlias, outcome.Epochs[^1].Epoch);
        return outcome;
    }

    /// <summary>
    /// The intact mid-epoch checkpoint of <paramref name="epoch"/> — the one after the last
    /// completed epoch — of this same training, or null. Anything else there is left over from an
    /// epoch since completed, and a damaged one only costs the steps it held: both are ignored.
    /// </summary>
    private static CheckpointManifest? FindMidEpoch(CheckpointStore midEpochStore, int epoch, string architecture, Hyperparameters planned)
    {
        midEpochStore.CleanUpIncompleteWrites();
        var candidate = midEpochStore.List().LastOrDefault(m => m.Epoch == epoch);
        return candidate is { MidEpoch: not null } && candidate.Architecture == architecture
            && SameTraining(candidate, planned) && midEpochStore.IsIntact(candidate)
            ? candidate
            : null;
    }

    /// <summary>
    /// The device may differ between attempts (a GPU run resumed on another GPU); nothing else may.
    /// A manifest that names no normalization (written before it was a hyperparameter) had its
    /// architecture's default.
    /// </summary>
    private static bool SameTraining(CheckpointManifest saved, Hyperparameters planned) =>
        saved.Hyperparameters with { Device = planned.Device, Normalization = CheckpointStore.NormalizationOf(saved) } == planned;

    private sealed class CheckpointingObserver(
        CheckpointStore store, CheckpointStore midEpochStore, TrainingPlan plan, ITrainingObserver inner, EpochMetrics? best,
        CancellationToken suspend)
        : ITrainingObserver
    {
        public void OnResumed(int completedEpochs, EpochPosition? midEpoch) => inner.OnResumed(completedEpochs, midEpoch);

        public void OnProgress(TrainingProgress progress) => inner.OnProgress(progress);

        public void OnEpochCompleted(CompletedEpoch epoch)
        {
            // Checkpoint first: an observer that records the epoch as done must be able to rely on it.
            // The manifest keeps who trained the epoch, so the record re-made from it after a crash
            // between the two is the one this attempt would have written, not a second one.
            store.Save(epoch.Metrics.Epoch, plan.Architecture.Name, plan.Hyperparameters, epoch.Metrics, epoch.Model, epoch.Optimizer,
                training: epoch.Training);
            // The epoch's own checkpoint supersedes its mid-epoch one (a crash before this line
            // leaves one that the next run sees is out of date).
            DeleteMidEpochCheckpoints();
            if (best is null || epoch.Metrics.TestAccuracy > best.TestAccuracy)
            {
                best = epoch.Metrics;
                store.SetAlias(CheckpointStore.BestAlias, epoch.Metrics.Epoch);
            }
            inner.OnEpochCompleted(epoch);
        }

        public void OnInterrupted(EpochInProgress epoch)
        {
            if (suspend.IsCancellationRequested)
                SaveMidEpoch(epoch);
            inner.OnInterrupted(epoch);
        }

        public void OnCheckpointDue(EpochInProgress epoch)
        {
            SaveMidEpoch(epoch);
            inner.OnCheckpointDue(epoch);
        }

        private void SaveMidEpoch(EpochInProgress epoch) =>
            midEpochStore.Save(epoch.Position.Epoch, plan.Architecture.Name, plan.Hyperparameters, null, epoch.Model, epoch.Optimizer, epoch.Position);

        private void DeleteMidEpochCheckpoints()
        {
            try
            {
                if (Directory.Exists(midEpochStore.StoreDirectory))
                    Directory.Delete(midEpochStore.StoreDirectory, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Harmless if left: a mid-epoch checkpoint of a completed epoch is never resumed from.
            }
        }
    }
}
