using TrainingService.Contracts.Datasets;
using TorchSharp.Modules;
using TrainingService.Models.Architectures;
using TrainingService.Models.Data;
using static TorchSharp.torch;

namespace TrainingService.Benchmark;

/// <summary>
/// Multiply-adds of one image's forward pass, counted over the layers that do them: each
/// convolution (output elements × in-channels/groups × kernel area), each linear layer (output
/// elements × in-features) and the attention's two batched products (2 × tokens² × embedding).
/// Counted by forward hooks on a two-image pass, so the output shapes are the model's own.
/// Normalisation, activations, pooling, softmax and the loss are left out: a few elementwise
/// operations per activation, well under 1 % of the multiply-adds in these networks.
/// </summary>
internal static class FlopCounter
{
    public static long ForwardMultiplyAddsPerImage(nn.Module<Tensor, Tensor> model)
    {
        const int images = 2;
        long total = 0;
        foreach (var (_, module) in model.named_modules())
        {
            switch (module)
            {
                case Conv2d conv:
                    conv.register_forward_hook((_, _, output) => { total += output.numel() * (conv.weight!.numel() / conv.weight.shape[0]); return output; });
                    break;
                case Linear linear:
                    linear.register_forward_hook((_, _, output) => { total += output.numel() * linear.weight!.shape[1]; return output; });
                    break;
                case SingleHeadSelfAttention attention:
                    // [B, T, E]: scores = Q·Kᵀ is B·T·T·E, weights·V another B·T·T·E.
                    attention.register_forward_hook((_, input, output) => { total += 2 * input.shape[0] * input.shape[1] * input.shape[1] * input.shape[2]; return output; });
                    break;
            }
        }
        model.eval();
        using (no_grad())
        using (var scope = NewDisposeScope())
            model.call(zeros(images, 1, DatasetCatalog.Mnist.Geometry.Rows, DatasetCatalog.Mnist.Geometry.Columns));
        return total / images;
    }
}
