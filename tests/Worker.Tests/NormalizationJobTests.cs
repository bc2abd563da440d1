using TrainingService.Contracts;
using TrainingService.Contracts.Checkpoints;
using TrainingService.Models.Checkpoints;
using TrainingService.Contracts.Training;
using TrainingService.Models.Training;

namespace TrainingService.Worker.Tests;

[Collection(nameof(WorkerCollection))]
public sealed class NormalizationJobTests(WorkerFixture fixture)
{
    private async Task<JobRecord> GetAsync(Guid id) => (await fixture.Store.GetAsync(id, CancellationToken.None))!;

    [Fact]
    public async Task AnEvalJobRebuildsTheVariantItsSourceTrained()
    {
        var hyperparameters = WorkerFixture.Quick with { Normalization = NormalizationKind.Batch };
        var job = await fixture.SubmitAsync(hyperparameters);
        await fixture.Runner().RunAsync(job.Id, CancellationToken.None);
        var done = await GetAsync(job.Id);
        Assert.Equal(JobStatus.Succeeded, done.Status);
        var manifest = new CheckpointStore(fixture.Checkpoints.JobDirectory(job.Id)).Resolve(CheckpointStore.FinalAlias)!;
        Assert.Equal(NormalizationKind.Batch, manifest.Hyperparameters.Normalization);

        // The eval job carries its source's hyperparameters (as the API copies them), so it builds
        // a BatchNorm convnet, loads the running statistics, and gets the same accuracy back.
        var eval = await fixture.SubmitAsync(hyperparameters, JobKind.Eval, new EvalSource(job.Id, "final"));
        await fixture.Runner().RunAsync(eval.Id, CancellationToken.None);
        var evaluated = await GetAsync(eval.Id);
        Assert.Equal(JobStatus.Succeeded, evaluated.Status);
        Assert.Equal(done.Result!.FinalTestAccuracy, evaluated.Result!.FinalTestAccuracy, 6);

        // An eval job whose hyperparameters name another normalization fails as a user error, saying why.
        var mismatched = await fixture.SubmitAsync(hyperparameters with { Normalization = NormalizationKind.Group }, JobKind.Eval, new EvalSource(job.Id, "final"));
        await fixture.Runner().RunAsync(mismatched.Id, CancellationToken.None);
        var failed = await GetAsync(mismatched.Id);
        Assert.Equal(JobStatus.Failed, failed.Status);
        Assert.Contains("batch normalization", failed.Error!.Message);
        Assert.Contains("group normalization", failed.Error.Message);
    }
}
