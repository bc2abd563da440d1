using static TorchSharp.torch;

namespace TrainingService.Worker.Tests;

/// <summary>How the runner tells libtorch running out of memory (a user error: retrying fails the same way) from other failures.</summary>
public sealed class InfrastructureFailuresTests
{
    [Fact]
    public void ARealLibtorchAllocationFailureIsRecognisedAsOutOfMemory()
    {
        // 64 TiB: more than any machine has, so the allocator refuses it at once rather than the kernel later.
        var failure = Assert.ThrowsAny<Exception>(() => empty(1L << 44, dtype: ScalarType.Float32).Dispose());
        Assert.True(InfrastructureFailures.IsOutOfMemory(failure), failure.ToString());
    }

    [Fact]
    public void OtherFailuresAreNotMistakenForOutOfMemory()
    {
        Assert.False(InfrastructureFailures.IsOutOfMemory(new IOException("No space left on device")));
        Assert.False(InfrastructureFailures.IsOutOfMemory(new InvalidOperationException("out of memory")));
        Assert.Equal("The checkpoint volume (/data/checkpoints) is full (No space left on device : '/data/checkpoints/x'). " +
            "Free space there or point Checkpoints:Root at a larger volume; earlier checkpoints are intact.",
            InfrastructureFailures.Describe(new IOException("No space left on device : '/data/checkpoints/x'", 28), "/data/checkpoints"));
    }
}
