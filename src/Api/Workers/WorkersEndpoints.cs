using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using TrainingService.Api.Security;
using TrainingService.Contracts;

namespace TrainingService.Api.Workers;

/// <summary><c>/workers</c>: the worker processes that are alive, and what each is running.</summary>
public static class WorkersEndpoints
{
    public static IEndpointRouteBuilder MapWorkersEndpoints(this IEndpointRouteBuilder app)
    {
        // Bound here for the reason given in MapJobsEndpoints: Program.cs has no hook for it.
        var options = app.ServiceProvider.GetRequiredService<IConfiguration>()
            .GetSection(WorkersApiOptions.SectionName).Get<WorkersApiOptions>() ?? new WorkersApiOptions();
        options.Validate();

        app.MapGroup("/workers").WithTags("Workers")
            .MapGet("/", new WorkersHandlers(options).ListAsync)
            .WithName("ListWorkers")
            .WithSummary("List live workers")
            .WithDescription("""
                The workers whose last heartbeat is recent (within `WorkersApi:AliveThreshold`, 30 s by default):
                their host, queues, device, the job each is running, when each started and when it last reported.
                Open to all; with authentication on, the running job's id is shown only to its owner (a key of its name) and to admins.
                """);
        return app;
    }

    private sealed class WorkersHandlers(WorkersApiOptions options)
    {
        public async Task<Ok<IReadOnlyList<WorkerResponse>>> ListAsync(
            HttpContext context, [FromServices] IWorkerRegistry registry, [FromServices] IJobStore store, [FromServices] TimeProvider time,
            CancellationToken cancellationToken)
        {
            var workers = await registry.ListWorkersAsync(time.GetUtcNow() - options.AliveThreshold, cancellationToken);
            var caller = Caller.Of(context);
            var listed = new List<WorkerResponse>(workers.Count);
            foreach (var worker in workers.OrderBy(w => w.Id, StringComparer.Ordinal))
            {
                var response = WorkerResponse.From(worker);
                // The list is open to all; a running job's id only to whoever may see the job.
                if (worker.RunningJobId is { } jobId && caller.AuthEnabled && !caller.IsAdmin
                    && (await store.GetAsync(jobId, cancellationToken) is not { } job || !caller.CanSee(job)))
                    response = response with { RunningJobId = null };
                listed.Add(response);
            }
            return TypedResults.Ok<IReadOnlyList<WorkerResponse>>(listed);
        }
    }
}
