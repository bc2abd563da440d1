using Hangfire.Dashboard;
using Microsoft.AspNetCore.Authentication;

namespace TrainingService.Api.Security;

/// <summary>Who may open the Hangfire dashboard.</summary>
public static class DashboardAccess
{
    /// <summary>
    /// The Hangfire dashboard's rule: requests from this machine always; from elsewhere only with
    /// <c>Dashboard:AllowRemote</c>, and then, when authentication is on, only with an admin key.
    /// </summary>
    public static IDashboardAsyncAuthorizationFilter DashboardAuthorization(bool allowRemote, bool authEnabled) =>
        new RemoteOrLocalAccess(allowRemote, authEnabled);

    private sealed class RemoteOrLocalAccess(bool allowRemote, bool authEnabled) : IDashboardAsyncAuthorizationFilter
    {
        private static readonly LocalRequestsOnlyAuthorizationFilter LocalOnly = new();

        public async Task<bool> AuthorizeAsync(DashboardContext context)
        {
            if (LocalOnly.Authorize(context))
                return true;
            if (!allowRemote)
                return false;
            if (!authEnabled)
                return true;
            var result = await context.GetHttpContext().AuthenticateAsync(ApiKeyAuthenticationHandler.SchemeName);
            return result.Succeeded && result.Principal.HasClaim(ApiKeyClaims.Admin, "true");
        }
    }


}
