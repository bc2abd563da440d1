using System.Diagnostics;
using System.Globalization;
using TrainingService.Contracts.Checkpoints;
using TrainingService.Models.Training;

namespace TrainingService.Worker;

/// <summary>
/// Diagnostics for the overhead benchmark (<c>Worker__StepTimesFile</c>): with the engine reporting
/// progress after every step, the time between two consecutive steps' reports is one step's wall
/// time as the training thread lived it, the service's interruptions included. Kept in memory
/// while the job trains and appended to the file, one millisecond figure a line, when it ends.
/// Forwards every callback to the observer it wraps, after taking the time.
/// </summary>
internal sealed class StepTimeRecorder(ITrainingObserver inner, string path) : ITrainingObserver
{
    private readonly List<double> milliseconds = new(4096);
    private long lastReport;
    private int lastEpoch = -1;
    private long lastStep;

    public void OnProgress(TrainingProgress progress)
    {
        var now = Stopwatch.GetTimestamp();
        // Only consecutive steps of one epoch: the evaluation and the checkpoint between epochs are not steps.
        if (progress.Epoch == lastEpoch && progress.Step == lastStep + 1)
            milliseconds.Add(Stopwatch.GetElapsedTime(lastReport, now).TotalMilliseconds);
        (lastReport, lastEpoch, lastStep) = (now, progress.Epoch, progress.Step);
        inner.OnProgress(progress);
    }

    public void OnResumed(int completedEpochs, EpochPosition? midEpoch) => inner.OnResumed(completedEpochs, midEpoch);

    public void OnEpochCompleted(CompletedEpoch epoch)
    {
        lastEpoch = -1;
        inner.OnEpochCompleted(epoch);
    }

    public void OnInterrupted(EpochInProgress epoch) => inner.OnInterrupted(epoch);

    public void OnCheckpointDue(EpochInProgress epoch) => inner.OnCheckpointDue(epoch);

    public void Flush()
    {
        File.AppendAllLines(path, milliseconds.Select(ms => ms.ToString("F3", CultureInfo.InvariantCulture)));
        milliseconds.Clear();
    }
}
