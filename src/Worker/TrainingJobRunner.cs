using System.Diagnostics;
using Hangfire;
using TorchSharp;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serilog.Context;
using TrainingService.Contracts;
using TrainingService.Contracts.Telemetry;
using TrainingService.Contracts.Architectures;
using TrainingService.Models.Architectures;
using TrainingService.Contracts.Checkpoints;
using TrainingService.Models.Checkpoints;
using TrainingService.Models.TensorBoard;
using TrainingService.Models.Data;
using TrainingService.Contracts.Training;
using TrainingService.Models.Training;
using TrainingService.Worker.Hosting;
using static TorchSharp.torch;

namespace TrainingService.Worker;

/// <summary>
/// Runs one job, given only its id: loads it, claims it with a new lease (attempt + 1), trains or
/// evaluates, records epochs and checkpoints as it goes, and ends the attempt with the status the
/// outcome calls for. Safe to run again for the same job — a finished job is left alone, a job
/// already running under a live lease elsewhere is not started twice, and a resumed training job
/// continues after its last checkpoint.
/// </summary>
/// <remarks>
/// Retries: deterministic failures (bad input, diverged loss, missing device, unreadable source
/// checkpoint) fail the job at once with <c>error.kind = user</c>. Anything else is an
/// infrastructure failure: the attempt is marked interrupted and rethrown, so Hangfire retries it
/// after a delay (resuming from the last checkpoint), until <see cref="WorkerOptions.MaxAttempts"/>.
/// A worker shutting down marks its job interrupted and rethrows too: Hangfire requeues it.
/// </remarks>
public sealed class TrainingJobRunner(
    IJobStore store,
    IEpochStore epochs,
    ICheckpointIndex checkpointIndex,
    IJobAttemptLog attempts,
    DatasetCache data,
    TrainingThreads trainingThreads,
    WorkerState worker,
    IOptions<WorkerOptions> workerOptions,
    IOptions<CheckpointOptions> checkpointOptions,
    TimeProvider time,
    ILogger<TrainingJobRunner> logger) : ITrainingJob
{
    /// <summary>The span of the attempt this runner is running (a runner runs one job: Hangfire activates one per job).</summary>
    private ActivityContext attemptSpan;

    [JobDisplayName("TrainingService job {0}")]
    public async Task RunAsync(Guid jobId, CancellationToken cancellationToken)
    {
        using var jobScope = LogContext.PushProperty("JobId", jobId);
        var options = workerOptions.Value;

        var job = await store.GetAsync(jobId, cancellationToken);
        if (job is null || job.Status.IsTerminal())
        {
            logger.LogInformation("Job {JobId} is {State}; nothing to run", jobId, job?.Status.ToString() ?? "unknown");
            return;
        }

        var now = time.GetUtcNow();
        var attempt = await store.TryStartAttemptAsync(jobId, Guid.NewGuid(), worker.Name, DeviceLabel(job.Hyperparameters.Device), now, now - options.StaleAfter, cancellationToken);
        if (attempt is null)
        {
            logger.LogInformation("Job {JobId} was not started: it is running under a live lease elsewhere, cancelled or finished", jobId);
            return;
        }

        worker.Started(jobId);
        using var span = JobTracing.StartForJob("job.attempt", jobId, attempt.TraceParent, ActivityKind.Consumer);
        span?.SetTag("trainingservice.job.attempt", attempt.Attempt);
        span?.SetTag("trainingservice.worker", worker.Name);
        // The epochs' spans are its children; the training thread they are made on has no ambient span.
        attemptSpan = span?.Context ?? default;
        await using var writer = new AttemptWriter(store, jobId, attempt.LeaseToken!.Value, options, time, logger);
        using var cancelRequested = new CancellationTokenSource();
        // The run time counts from the job's first start, across attempts: a job that keeps being
        // interrupted cannot run forever either.
        var runTimeLeft = (attempt.StartedAt ?? now) + options.MaxRunTime - now;
        using var runTimeOver = new CancellationTokenSource(runTimeLeft > TimeSpan.Zero ? runTimeLeft : Timeout.InfiniteTimeSpan, time);
        if (runTimeLeft <= TimeSpan.Zero) await runTimeOver.CancelAsync();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, cancelRequested.Token, writer.LeaseLost, runTimeOver.Token);
        var cancellationWatch = WatchForCancellationAsync(jobId, cancelRequested, stop.Token);
        try
        {
            logger.LogInformation("Job {JobId} attempt {Attempt} started on {Worker}: {Kind} {Architecture} on {Dataset}",
                jobId, attempt.Attempt, worker.Name, attempt.Kind, attempt.Architecture, attempt.Dataset);
            stop.Token.ThrowIfCancellationRequested();
            var result = await RunAttemptAsync(attempt, writer, stop.Token, shutdown: cancellationToken);
            await FinishAsync(writer, JobStatus.Succeeded, TerminationReason.Succeeded, result, null, cancellationToken);
            logger.LogInformation("Job {JobId} succeeded: test accuracy {TestAccuracy:P2}", jobId, result.FinalTestAccuracy);
        }
        catch (OperationCanceledException) when (writer.LeaseLost.IsCancellationRequested)
        {
            // Another attempt owns the job now; this one may write nothing more.
        }
        catch (OperationCanceledException) when (cancelRequested.IsCancellationRequested)
        {
            await FinishAsync(writer, JobStatus.Cancelled, TerminationReason.Cancelled, null, null, cancellationToken);
            logger.LogInformation("Job {JobId} cancelled; its checkpoints are kept", jobId);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutdown is not cancellation: the job is handed back to the queue, never ended.
            await FinishAsync(writer, JobStatus.Interrupted, TerminationReason.ShutdownHandback, null, null, cancellationToken);
            logger.LogInformation("Job {JobId} interrupted by the worker stopping; it resumes from its last checkpoint", jobId);
            throw;
        }
        catch (OperationCanceledException) when (runTimeOver.IsCancellationRequested)
        {
            var error = new JobError(JobErrorKind.Timeout,
                $"The job ran past its maximum run time of {options.MaxRunTime} (Worker:MaxRunTime), counted from its first start; its checkpoints are kept.");
            await FinishAsync(writer, JobStatus.Failed, TerminationReason.Timeout, null, error, cancellationToken);
            logger.LogWarning("Job {JobId} failed: {Error}", jobId, error.Message);
        }
        catch (Exception e) when (AsUserError(e, attempt) is { } userError)
        {
            await FinishAsync(writer, JobStatus.Failed, ReasonOf(e), null, new JobError(JobErrorKind.User, userError), cancellationToken);
            logger.LogWarning("Job {JobId} failed: {Error}", jobId, userError);
        }
        catch (Exception e)
        {
            var final = attempt.Attempt >= options.MaxAttempts;
            var error = new JobError(JobErrorKind.Infrastructure,
                $"Attempt {attempt.Attempt} of {options.MaxAttempts}: {InfrastructureFailures.Describe(e, checkpointOptions.Value.Root)}");
            await FinishAsync(writer, final ? JobStatus.Failed : JobStatus.Interrupted, TerminationReason.InfrastructureError, null, error, cancellationToken);
            logger.LogError(e, "Job {JobId} attempt {Attempt} failed{Retry}", jobId, attempt.Attempt, final ? "; no attempts left" : "; it will be retried");
            if (!final) throw;
        }
        finally
        {
            await stop.CancelAsync();
            await cancellationWatch;
            worker.Stopped(jobId);
        }
    }

    /// <summary>The message of a deterministic failure — running the job again would fail the same way — or null for anything else.</summary>
    private static string? AsUserError(Exception e, JobRecord attempt) => e switch
    {
        TrainingException => e.Message,
        CheckpointException when attempt.Kind == JobKind.Eval => e.Message,
        _ when InfrastructureFailures.IsOutOfMemory(e) =>
            $"The device ran out of memory for {attempt.Architecture} with batch size {attempt.Hyperparameters.BatchSize}; " +
            $"lower batchSize or use a device with more memory. ({e.Message.Split('\n')[0]})",
        _ => null,
    };

    /// <summary>Why a deterministic failure (<see cref="AsUserError"/>) ended the attempt.</summary>
    private static TerminationReason ReasonOf(Exception e) => e switch
    {
        TrainingException { Kind: TrainingFailureKind.NonFiniteLoss } => TerminationReason.NanLoss,
        TrainingException { Kind: TrainingFailureKind.DeviceUnavailable } => TerminationReason.DeviceUnavailable,
        TrainingException { Kind: TrainingFailureKind.OutOfMemory } => TerminationReason.OutOfMemory,
        _ when InfrastructureFailures.IsOutOfMemory(e) => TerminationReason.OutOfMemory,
        _ => TerminationReason.UserError,
    };

    /// <summary>
    /// Drains the attempt's queued writes, then records how it ended. The database may be away at
    /// that moment: the final write is retried (for up to <see cref="FinishRetryLimit"/>, or a few
    /// seconds while the worker is stopping) rather than lost.
    /// </summary>
    private async Task FinishAsync(AttemptWriter writer, JobStatus status, TerminationReason reason, JobResult? result, JobError? error, CancellationToken shutdown)
    {
        await writer.DrainAsync();
        if (writer.LeaseLost.IsCancellationRequested) return;
        var giveUpAt = time.GetUtcNow() + (shutdown.IsCancellationRequested ? ShutdownFinishRetryLimit : FinishRetryLimit);
        var delay = TimeSpan.FromMilliseconds(200);
        for (var tries = 1; ; tries++)
        {
            try
            {
                var applied = await store.FinishAttemptAsync(writer.JobId, writer.LeaseToken, status, reason, result, error, time.GetUtcNow(), CancellationToken.None);
                if (!applied) logger.LogWarning("Job {JobId}: could not record {Status}; another attempt owns the job", writer.JobId, status);
                return;
            }
            catch (Exception e) when (time.GetUtcNow() + delay < giveUpAt)
            {
                logger.LogWarning(e, "Job {JobId}: recording {Status} failed (try {Tries}); retrying in {Delay}", writer.JobId, status, tries, delay);
                await Task.Delay(delay, time);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
        }
    }

    private static readonly TimeSpan FinishRetryLimit = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan ShutdownFinishRetryLimit = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The device the job records as running on: what <c>auto</c> resolves to on this worker
    /// (<c>cpu</c>, <c>cuda:0</c>), or the device asked for (which, if unusable here, fails the job).
    /// </summary>
    private static string DeviceLabel(string requested) =>
        Devices.TryParse(requested, out var parsed) && parsed.Auto ? Devices.Describe(Devices.Resolve(requested)) : requested;

    /// <param name="shutdown">The worker stopping: a training job then checkpoints the epoch in progress before it stops.</param>
    private async Task<JobResult> RunAttemptAsync(JobRecord job, AttemptWriter writer, CancellationToken cancellationToken, CancellationToken shutdown)
    {
        var device = Devices.Resolve(job.Hyperparameters.Device);
        var dataset = await data.PrepareAsync(job.Dataset, cancellationToken);
        // The step loop must own its thread (TorchSharp's dispose scopes are per thread): one of
        // the worker's long-lived training threads. So must everything else that runs libtorch's
        // parallel kernels, the data's first load included: each thread that calls into them gets
        // an OpenMP team of its own, and once a process holds more OpenMP threads than cores,
        // libgomp stops spinning at its barriers and every step waits on the scheduler instead.
        return await trainingThreads.RunAsync(() =>
        {
            // An upload's files are checked against their recorded SHA-256s here, before any step.
            using var splits = data.Load(dataset, device);
            return job.Kind == JobKind.Train
                ? Train(job, device, splits.Train, splits.Test, writer, cancellationToken, shutdown)
                : Evaluate(job, device, splits.Test);
        });
    }

    private JobResult Train(
        JobRecord job, Device device, ImageTensors fullTrain, ImageTensors test, AttemptWriter writer, CancellationToken cancellationToken, CancellationToken shutdown)
    {
        var checkpoints = new CheckpointStore(checkpointOptions.Value.JobDirectory(job.Id));
        checkpoints.CleanUpIncompleteWrites();
        // Epochs checkpointed by an earlier attempt may not have reached the database before it
        // died: record them again so the history has no holes. Each manifest names the attempt
        // that trained its epoch, so this is that attempt's record again (idempotent), never a second one.
        // The TensorBoard file is backfilled from the checkpoints the same way (it skips epochs it has).
        var tensorBoard = OpenTensorBoard(job, checkpoints);
        foreach (var manifest in checkpoints.List())
        {
            RecordEpoch(writer, job, manifest);
            WriteTensorBoard(tensorBoard, job.Id, manifest);
        }

        using var train = fullTrain.View(job.Hyperparameters.TrainSubset);
        ITrainingObserver observer = new RecordingObserver(this, writer, job, checkpoints, tensorBoard, time, logger, shutdown, attemptSpan);
        // Where this attempt begins: the start, unless the engine reports a resume (OnResumed), which comes later in the same queue.
        RecordStartPoint(writer, epoch: 1, step: 0);
        var interval = workerOptions.Value.MidEpochCheckpointInterval;
        var stepTimes = workerOptions.Value.StepTimesFile is { Length: > 0 } stepTimesFile ? new StepTimeRecorder(observer, stepTimesFile) : null;
        var engine = new TrainingEngine
        {
            MidEpochCheckpointInterval = interval > TimeSpan.Zero ? interval : null,
            // Step timing needs a report after every step; otherwise once a second is plenty.
            ProgressInterval = stepTimes is null ? TimeSpan.FromSeconds(1) : TimeSpan.Zero,
        };
        TrainingOutcome outcome;
        try
        {
            outcome = CheckpointedTraining.Run(
                new TrainingPlan(ArchitectureCatalog.Get(job.Architecture), job.Hyperparameters, device) { Attempt = job.Attempt }, train, test, checkpoints, stepTimes ?? observer,
                cancellationToken, engine, suspend: shutdown);
        }
        finally
        {
            stepTimes?.Flush();
        }
        var best = outcome.Best;
        var final = outcome.FinalEvaluation;
        return new JobResult(final.Accuracy, final.Loss, best.TestAccuracy, best.TestLoss, best.Epoch, final.ConfusionMatrix, final.PerClassAccuracy);
    }

    private JobResult Evaluate(JobRecord job, Device device, ImageTensors test)
    {
        var source = job.Source ?? throw new TrainingException(TrainingFailureKind.InvalidInput, "An eval job needs a source.");
        var architecture = ArchitectureCatalog.Get(job.Architecture);
        // The eval job carries its source's hyperparameters, so this builds the variant that was trained.
        using var model = architecture.Create(job.Hyperparameters, test.Geometry);
        new CheckpointStore(checkpointOptions.Value.JobDirectory(source.JobId))
            .Load(source.Checkpoint, architecture.Name, model, null, architecture.NormalizationOf(job.Hyperparameters));
        model.to(device);
        var evaluation = TrainingEngine.Evaluate(model, test);
        return new JobResult(evaluation.Accuracy, evaluation.Loss, null, null, null, evaluation.ConfusionMatrix, evaluation.PerClassAccuracy);
    }

    /// <summary>The job's TensorBoard event file in its checkpoint folder, or null (logged) if it cannot be opened: the scalars are a convenience, never a reason to fail a run.</summary>
    private TensorBoardEventFile? OpenTensorBoard(JobRecord job, CheckpointStore checkpoints)
    {
        try
        {
            return TensorBoardEventFile.Open(Path.Combine(checkpoints.StoreDirectory, TensorBoardEventFile.FileNameFor(job.CreatedAt)), time.GetUtcNow());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            logger.LogWarning(e, "Job {JobId}: cannot open its TensorBoard event file; training goes on without it", job.Id);
            return null;
        }
    }

    /// <summary>The epoch's scalars, stamped with its checkpoint's time (when the epoch ended).</summary>
    private void WriteTensorBoard(TensorBoardEventFile? tensorBoard, Guid jobId, CheckpointManifest manifest)
    {
        if (tensorBoard is null || manifest.Metrics is not { } metrics)
            return;
        try
        {
            tensorBoard.WriteEpoch(metrics, manifest.CreatedAt);
        }
        catch (IOException e)
        {
            logger.LogWarning(e, "Job {JobId}: writing epoch {Epoch} to its TensorBoard event file failed", jobId, metrics.Epoch);
        }
    }

    /// <summary>
    /// Queues the records of an epoch whose checkpoint is on disk. Only ever called after the
    /// checkpoint was written: a crash between the two leaves a checkpoint whose record the next
    /// attempt re-makes from it (the same record), where the other order would leave a record
    /// without a checkpoint, an epoch the next attempt trains again.
    /// </summary>
    private void RecordEpoch(AttemptWriter writer, JobRecord job, CheckpointManifest manifest)
    {
        var weights = manifest.Files.Single(f => f.Name == CheckpointStore.ModelFileName);
        var record = new CheckpointRecord(job.Id, manifest.Epoch, weights.SizeBytes, weights.Sha256, manifest.Metrics, manifest.CreatedAt);
        // Checkpoint first: an epoch that is listed has a checkpoint to resume from or download.
        writer.Enqueue((id, lease, ct) => checkpointIndex.RecordCheckpointAsync(id, lease, record, ct));
        if (manifest.Metrics is { } metrics)
            writer.Enqueue((id, lease, ct) => RecordEpochAsync(id, lease, job.Attempt, metrics, manifest.Training, manifest.CreatedAt, ct));
    }

    /// <returns>False only when the lease was refused; a conflict is logged (the epoch was trained twice) and the attempt goes on.</returns>
    private async Task<bool> RecordEpochAsync(
        Guid id, Guid lease, int attempt, EpochMetrics metrics, EpochTraining? training, DateTimeOffset recordedAt, CancellationToken cancellationToken)
    {
        var outcome = await epochs.RecordEpochAsync(id, lease, metrics, training, recordedAt, cancellationToken);
        if (outcome == EpochWrite.Conflict)
            logger.LogError(
                "Job {JobId} epoch {Epoch} was already recorded by another attempt and was trained again (attempt {TrainedBy}, {StepsRun} steps from step {ResumedFromStep}); " +
                "attempt {Attempt} kept the write as a conflict and the first record stands",
                id, metrics.Epoch, training?.Attempt, training?.StepsRun, training?.ResumedFromStep, attempt);
        return outcome != EpochWrite.LeaseLost;
    }

    private void RecordStartPoint(AttemptWriter writer, int epoch, long step) =>
        writer.Enqueue((id, lease, ct) => attempts.RecordStartPointAsync(id, lease, epoch, step, ct));

    /// <summary>Polls for a cancel request; the step loop sees it at its next step boundary.</summary>
    private async Task WatchForCancellationAsync(Guid jobId, CancellationTokenSource cancelRequested, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(workerOptions.Value.CancellationPollInterval, time, stop);
                if ((await store.GetAsync(jobId, stop))?.CancelRequested == true)
                {
                    logger.LogInformation("Job {JobId}: cancellation requested; stopping at the next step", jobId);
                    await cancelRequested.CancelAsync();
                    return;
                }
            }
            catch (OperationCanceledException) { return; }
            catch (Exception e)
            {
                // The database being away must not stop training; the next poll tries again.
                logger.LogDebug(e, "Job {JobId}: checking for cancellation failed", jobId);
            }
        }
    }

    /// <summary>Turns the engine's callbacks into records: progress with the heartbeat, and per epoch a checkpoint record then the metrics.</summary>
    private sealed class RecordingObserver(
        TrainingJobRunner runner, AttemptWriter writer, JobRecord job, CheckpointStore checkpoints, TensorBoardEventFile? tensorBoard,
        TimeProvider time, ILogger logger, CancellationToken shutdown, ActivityContext attemptSpan)
        : ITrainingObserver
    {
        public void OnResumed(int completedEpochs, EpochPosition? midEpoch)
        {
            if (midEpoch is { } position)
                runner.RecordStartPoint(writer, position.Epoch, position.StepsDone);
            else
                runner.RecordStartPoint(writer, completedEpochs + 1, 0);
            if (midEpoch is { } at)
                logger.LogInformation("Job {JobId} attempt {Attempt} resumes epoch {Epoch} at step {Step}, where the last attempt checkpointed it on stopping",
                    job.Id, job.Attempt, at.Epoch, at.StepsDone + 1);
            else
                logger.LogInformation("Job {JobId} attempt {Attempt} resumes after epoch {Epoch}, its last checkpoint", job.Id, job.Attempt, completedEpochs);
        }

        public void OnInterrupted(EpochInProgress epoch)
        {
            writer.ReportStoppedAt(epoch.Position.Epoch, epoch.Position.StepsDone, time.GetUtcNow());
            if (shutdown.IsCancellationRequested)
                logger.LogInformation("Job {JobId} stopped in epoch {Epoch} after step {Step} and checkpointed there for the next attempt",
                    job.Id, epoch.Position.Epoch, epoch.Position.StepsDone);
        }

        public void OnCheckpointDue(EpochInProgress epoch) =>
            logger.LogDebug("Job {JobId} checkpointed epoch {Epoch} after step {Step}", job.Id, epoch.Position.Epoch, epoch.Position.StepsDone);

        public void OnProgress(TrainingProgress p) => writer.ReportProgress(new JobProgress(
            p.Epoch, p.Epochs, p.Step, p.StepsPerEpoch, p.SamplesPerSecond, p.EstimatedRemaining.TotalSeconds,
            p.RunningLoss, p.RunningAccuracy, time.GetUtcNow()));

        public void OnEpochCompleted(CompletedEpoch epoch)
        {
            var m = epoch.Metrics;
            var now = time.GetUtcNow();
            JobTracing.RecordEpoch(attemptSpan, job.Id, m.Epoch, now.AddSeconds(-m.EpochSeconds), now, m.TestAccuracy, m.TrainLoss);
            // CheckpointedTraining has saved this epoch's checkpoint before calling us.
            var manifest = checkpoints.Resolve(m.Epoch.ToString(System.Globalization.CultureInfo.InvariantCulture))!;
            runner.RecordEpoch(writer, job, manifest);
            runner.WriteTensorBoard(tensorBoard, job.Id, manifest);
            logger.LogInformation("Job {JobId} epoch {Epoch}/{Epochs}: train loss {TrainLoss:F4}, test accuracy {TestAccuracy:P2}, {SamplesPerSecond:F0} images/s",
                job.Id, m.Epoch, job.Hyperparameters.Epochs, m.TrainLoss, m.TestAccuracy, m.SamplesPerSecond);
        }
    }
}
