using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using TrainingService.Contracts;

namespace TrainingService.ServiceDefaults;

public static class WorkerOptionsRegistration
{
    /// <summary>The <c>Worker</c> section, checked at start so a bad setting stops the process with a message instead of misbehaving later.</summary>
    public static IServiceCollection AddWorkerOptions(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<WorkerOptions>(configuration.GetSection(WorkerOptions.SectionName));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<WorkerOptions>, WorkerOptionsValidator>());
        services.AddOptions<WorkerOptions>().ValidateOnStart();
        return services;
    }
}
