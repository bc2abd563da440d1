using TrainingService.Contracts;
using TrainingService.Contracts.Training;

namespace TrainingService.Storage.Tests;

/// <summary>
/// An epoch is recorded once, with the attempt that trained it: the same write again changes
/// nothing, and a write of it by another attempt (an epoch trained twice) is kept as a conflict
/// while the first record stands — where an upsert would have hidden it.
/// </summary>
public abstract partial class JobStoreTests
{
    /// <summary>An epoch trained whole by attempt 1, in 469 steps.</summary>
    private static readonly EpochTraining Trained = new(1, 0, 469, []);

    /// <summary>Takes the job over with a new attempt (the last one's heartbeat at T0 is stale by then); returns its lease.</summary>
    private async Task<Guid> TakeOverAsync(Guid id, int seconds)
    {
        var lease = Guid.NewGuid();
        Assert.NotNull(await Store.TryStartAttemptAsync(id, lease, "worker-2", "cpu", T0.AddSeconds(seconds), T0.AddSeconds(seconds - 30), None));
        return lease;
    }

    [Fact]
    public async Task An_epoch_records_who_trained_it_and_the_steps_of_each_attempt()
    {
        var (running, lease) = await CreateRunningAsync();
        var resumed = new EpochTraining(3, 148, 321, [new AttemptSteps(1, 100), new AttemptSteps(2, 48)]);

        Assert.Equal(EpochWrite.Recorded, await Epochs.RecordEpochAsync(running.Id, lease, Metrics(1), Trained, T0.AddSeconds(1), None));
        Assert.Equal(EpochWrite.Recorded, await Epochs.RecordEpochAsync(running.Id, lease, Metrics(2), resumed, T0.AddSeconds(2), None));

        var epochs = await Epochs.GetEpochsAsync(running.Id, 0, None);
        Assert.Equal([Trained, resumed], epochs.Select(e => e.Training));
        Assert.Equal(469, epochs[1].Training!.TotalSteps());
        Assert.All(epochs, e => Assert.Empty(e.Conflicts));
    }

    [Fact]
    public async Task Another_attempts_write_of_a_recorded_epoch_is_kept_as_a_conflict_and_the_first_record_stands()
    {
        var (running, lease) = await CreateRunningAsync();
        Assert.Equal(EpochWrite.Recorded, await Epochs.RecordEpochAsync(running.Id, lease, Metrics(1), Trained, T0.AddSeconds(1), None));
        var first = await Epochs.GetEpochsAsync(running.Id, 0, None);

        // Attempt 2 trains epoch 1 again from its start: the write is not applied, but kept.
        var newLease = await TakeOverAsync(running.Id, 60);
        var again = new EpochTraining(2, 0, 469, []);
        Assert.Equal(EpochWrite.Conflict, await Epochs.RecordEpochAsync(running.Id, newLease, Metrics(1, 0.25), again, T0.AddSeconds(70), None));
        // Retried after a lost acknowledgement, it is kept once.
        Assert.Equal(EpochWrite.Conflict, await Epochs.RecordEpochAsync(running.Id, newLease, Metrics(1, 0.25), again, T0.AddSeconds(71), None));

        var epoch = Assert.Single(await Epochs.GetEpochsAsync(running.Id, 0, None));
        Assert.Equal(first[0] with { Conflicts = [new EpochConflict(again, T0.AddSeconds(70))] }, epoch);
        Assert.Equal(Metrics(1), epoch.Metrics);
        Assert.Equal(Trained, epoch.Training);
        // Read from a later epoch on, it is not there.
        Assert.Empty(await Epochs.GetEpochsAsync(running.Id, 1, None));
    }

    [Fact]
    public async Task The_same_attempt_writing_other_steps_for_a_recorded_epoch_is_a_conflict_too()
    {
        var (running, lease) = await CreateRunningAsync();
        Assert.Equal(EpochWrite.Recorded, await Epochs.RecordEpochAsync(running.Id, lease, Metrics(1), Trained, T0.AddSeconds(1), None));

        var twice = Trained with { StepsRun = 938 };
        Assert.Equal(EpochWrite.Conflict, await Epochs.RecordEpochAsync(running.Id, lease, Metrics(1), twice, T0.AddSeconds(2), None));

        var epoch = Assert.Single(await Epochs.GetEpochsAsync(running.Id, 0, None));
        Assert.Equal(Trained, epoch.Training);
        Assert.Equal([new EpochConflict(twice, T0.AddSeconds(2))], epoch.Conflicts);
    }

    [Fact]
    public async Task The_next_attempt_re_recording_an_epoch_from_its_checkpoint_changes_nothing()
    {
        // Attempt 1 checkpointed epoch 2 after 48 of its steps, attempt 2 finished it; attempt 3
        // re-makes the record from epoch 2's manifest, which names attempt 2.
        var (running, lease) = await CreateRunningAsync();
        var finishedBy2 = new EpochTraining(2, 48, 421, [new AttemptSteps(1, 48)]);
        Assert.Equal(EpochWrite.Recorded, await Epochs.RecordEpochAsync(running.Id, lease, Metrics(2), finishedBy2, T0.AddSeconds(1), None));
        var recorded = await Epochs.GetEpochsAsync(running.Id, 0, None);

        var third = await TakeOverAsync(running.Id, 60);
        Assert.Equal(EpochWrite.AlreadyRecorded, await Epochs.RecordEpochAsync(running.Id, third, Metrics(2), finishedBy2, T0.AddSeconds(1), None));

        Assert.Equal(recorded, await Epochs.GetEpochsAsync(running.Id, 0, None));
    }

    [Fact]
    public async Task An_epoch_re_recorded_from_a_checkpoint_that_names_no_attempt_is_recorded_if_missing_and_never_conflicts()
    {
        var (running, lease) = await CreateRunningAsync();
        Assert.Equal(EpochWrite.Recorded, await Epochs.RecordEpochAsync(running.Id, lease, Metrics(1), Trained, T0.AddSeconds(1), None));

        Assert.Equal(EpochWrite.AlreadyRecorded, await Epochs.RecordEpochAsync(running.Id, lease, Metrics(1), null, T0.AddSeconds(5), None));
        Assert.Equal(EpochWrite.Recorded, await Epochs.RecordEpochAsync(running.Id, lease, Metrics(2), null, T0.AddSeconds(6), None));

        var epochs = await Epochs.GetEpochsAsync(running.Id, 0, None);
        Assert.Equal([Trained, null], epochs.Select(e => e.Training));
        Assert.All(epochs, e => Assert.Empty(e.Conflicts));
    }

    [Fact]
    public async Task A_write_with_an_attempt_over_an_epoch_recorded_before_attempts_were_is_a_conflict()
    {
        // An epoch recorded by a release before migration 40 has a checkpoint (that release wrote
        // it first), which the next attempt resumes after: training it again is a second run.
        var (running, lease) = await CreateRunningAsync();
        Assert.Equal(EpochWrite.Recorded, await Epochs.RecordEpochAsync(running.Id, lease, Metrics(1), null, T0.AddSeconds(1), None));

        Assert.Equal(EpochWrite.Conflict, await Epochs.RecordEpochAsync(running.Id, lease, Metrics(1), Trained, T0.AddSeconds(2), None));

        var epoch = Assert.Single(await Epochs.GetEpochsAsync(running.Id, 0, None));
        Assert.Null(epoch.Training);
        Assert.Equal([new EpochConflict(Trained, T0.AddSeconds(2))], epoch.Conflicts);
    }

    [Fact]
    public async Task A_stale_attempt_can_record_neither_an_epoch_nor_a_conflict()
    {
        var (running, oldLease) = await CreateRunningAsync();
        Assert.Equal(EpochWrite.Recorded, await Epochs.RecordEpochAsync(running.Id, oldLease, Metrics(1), Trained, T0.AddSeconds(1), None));
        await TakeOverAsync(running.Id, 60);

        Assert.Equal(EpochWrite.LeaseLost, await Epochs.RecordEpochAsync(running.Id, oldLease, Metrics(1), Trained with { StepsRun = 1 }, T0.AddSeconds(61), None));
        Assert.Equal(EpochWrite.LeaseLost, await Epochs.RecordEpochAsync(running.Id, oldLease, Metrics(2), Trained, T0.AddSeconds(61), None));

        var epoch = Assert.Single(await Epochs.GetEpochsAsync(running.Id, 0, None));
        Assert.Empty(epoch.Conflicts);
    }
}
