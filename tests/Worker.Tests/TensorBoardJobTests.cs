using TrainingService.Contracts.Checkpoints;
using TrainingService.Models.Checkpoints;
using TrainingService.Models.TensorBoard;

namespace TrainingService.Worker.Tests;

[Collection(nameof(WorkerCollection))]
public sealed class TensorBoardJobTests(WorkerFixture fixture)
{
    [Fact]
    public async Task ATrainingJobLeavesTensorBoardScalarsPerEpochInItsFolder()
    {
        var job = await fixture.SubmitAsync(WorkerFixture.Quick);

        await fixture.Runner().RunAsync(job.Id, CancellationToken.None);

        var folder = fixture.Checkpoints.JobDirectory(job.Id);
        var path = Path.Combine(folder, TensorBoardEventFile.FileNameFor(job.CreatedAt));
        var events = TensorBoardEventFile.ReadAll(path);
        Assert.Equal("brain.Event:2", events[0].FileVersion);
        var epochs = await fixture.Epochs.GetEpochsAsync(job.Id, 0, CancellationToken.None);
        var scalarEvents = events.Where(e => e.Scalars.Count > 0).ToList();
        Assert.Equal(epochs.Select(e => (long)e.Metrics.Epoch), scalarEvents.Select(e => e.Step));
        var manifests = new CheckpointStore(folder).List();
        foreach (var (e, manifest) in scalarEvents.Zip(manifests))
        {
            // Stamped when the epoch ended (its checkpoint's time), valued as the recorded metrics.
            Assert.Equal(manifest.CreatedAt.ToUnixTimeMilliseconds() / 1000.0, e.WallTime);
            Assert.Equal((float)manifest.Metrics!.TestAccuracy, e.Scalars.Single(s => s.Tag == "accuracy/test").Value);
            Assert.Equal((float)manifest.Metrics.TrainLoss, e.Scalars.Single(s => s.Tag == "loss/train").Value);
        }

        // Running it again (Hangfire is at-least-once) adds nothing to the file.
        await fixture.Runner().RunAsync(job.Id, CancellationToken.None);
        Assert.Equal(events.Count, TensorBoardEventFile.ReadAll(path).Count);
    }
}
