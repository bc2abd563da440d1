using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using TrainingService.Api.Infrastructure;
using TrainingService.Api.Infrastructure.OpenApi;
using TrainingService.Api.Jobs;
using TrainingService.Api.Security;
using TrainingService.Contracts;
using TrainingService.Contracts.Architectures;

namespace TrainingService.Api.Exports;

/// <summary><c>GET /jobs/{id}/plot.png</c>: a job's learning curves as an image, for reports and chat.</summary>
public static class ExportEndpoints
{
    public static IEndpointRouteBuilder MapExportEndpoints(this IEndpointRouteBuilder app)
    {
        // The jobs API's access rules: a key when authentication is on; another owner's job is a 404.
        app.MapGroup("/jobs").WithTags("Jobs").RequireJobAccess()
            .MapGet("/{id}/plot.png", GetPlotAsync)
            .WithName("GetJobPlot")
            .WithSummary("Get a job's learning curves as a PNG")
            .WithDescription("""
                A 1000×420 PNG of the job's recorded epochs: loss (left) and accuracy (right) per epoch, train in blue
                and test in red, titled with the job's architecture, normalization and name. A job with no epochs yet
                gets an image saying so; it is drawn afresh on every request, so a running job's plot grows.
                """)
            .Produces(StatusCodes.Status200OK, contentType: "image/png")
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    private static async Task<Results<FileContentHttpResult, ProblemHttpResult>> GetPlotAsync(
        [ParameterSchema(Description = "The job's id.", Example = "0197a1f2-6c3e-7d4a-9b1e-2f3a4b5c6d7e")] string id,
        [FromServices] IJobStore store, [FromServices] IEpochStore epochStore, CancellationToken cancellationToken)
    {
        if (!JobIds.TryParse(id, out var jobId) || await store.GetAsync(jobId, cancellationToken) is not { } job)
            return Problems.JobNotFound(id);
        var epochs = await epochStore.GetEpochsAsync(jobId, 0, cancellationToken);
        var normalization = job.Hyperparameters.Normalization?.ToString().ToLowerInvariant();
        var title = $"{job.Architecture} ({normalization} normalization), {job.Kind.ToString().ToLowerInvariant()} job {job.Id}"
            + (job.Name is { } name ? $": {name}" : "");
        var png = LearningCurvePlot.Render(title, [.. epochs.Select(e => e.Metrics)]);
        return TypedResults.File(png, "image/png");
    }
}
