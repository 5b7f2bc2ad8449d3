"""BiGAN cards (Donahue thesis ch. 5): metadata only."""

from zoo.registry import InputContract, WeightsSpec, register

PAPER = "Donahue 2017, PhD thesis (BiGAN, Donahue, Krähenbühl & Darrell, ICLR 2017)"
MNIST_VECTOR = InputContract(shape=(28, 28, 1), kind="image", channel_order=None, mean=(0.0,), std=(255.0,),
                             note="grey pixels / 255; the MLPs see the image as a 784-d vector (permutation-invariant)")


def _mlp_counts(x=784, z=50, h=1024, joint=True):
    """E, G: fc1 (with bias), fc2 (no bias: parameter-free BN follows), BN moving mean/variance, fc3 (bias);
    D: fc1 (bias), fc2 (no bias), fc3 (bias) and, when joint, one bias-free projection of z per linear layer."""
    e = x * h + h + h * h + z * h + z
    g = z * h + h + h * h + h * x + x
    d = x * h + h + h * h + h + 1 + (z * (h + h + 1) if joint else 0)
    trainable = e + g + d
    return {"trainable": trainable, "total": trainable + 3 * 2 * h}


register("bigan_mlp", builder="zoo.models.bigan.bigan:bigan_mlp", family="bigan", paper=PAPER,
         section="§5.3.2, App. 5.5.3.1 (permutation-invariant MNIST, Table 5.1)", task="bigan",
         input_contract=MNIST_VECTOR,
         paper_numbers={"hidden": 1024, "latent_dim": 50, "latent": "U(-1, 1)^50", "leak": 0.2,
                        "table_5_1_1nn_accuracy": {"BiGAN": 97.39, "D": 97.30, "LR": 97.44, "JLR": 97.13,
                                                   "AE (l2)": 97.58, "AE (l1)": 97.63}},
         parameters=_mlp_counts())


register("gan_discrete_latent_mlp", builder="zoo.models.bigan.bigan:gan_discrete_latent_mlp", family="bigan",
         paper=PAPER, section="ch. 6 (discrete latent variables: MNIST, z = [alpha one-hot(10), U(-1, 1)^10])",
         task="gan_discrete_latent", input_contract=MNIST_VECTOR,
         paper_numbers={"categories": 10, "continuous": 10, "alpha": "> 1, not stated",
                        "finding": "clusters that correspond to digit identity (Fig. 6.1, qualitative)"},
         parameters=_mlp_counts(z=20, joint=False))


IMAGENET_64 = InputContract(shape=(64, 64, 3), kind="image", channel_order="RGB", mean=(127.5,) * 3, std=(127.5,) * 3,
                            note="RGB scaled to [-1, 1] (shorter edge 72, random 64 crop, flip for training, §5.2.4)")


def _alexnet_counts(z=200, gf=128, df=128):
    """E: AlexNet conv1..5 (groups 2 on conv2/4/5, no bias) + BN(4 per channel) + fc_z; G: fc + BN, 5x5
    deconvs (the last with bias); D: 5x5 convs (bias on conv1), BN on conv2..4, z projections, logit."""
    e_conv = 121 * 3 * 96 + 25 * 48 * 256 + 9 * 256 * 384 + 9 * 192 * 384 + 9 * 192 * 256
    e = e_conv + 2 * (96 + 256 + 384 + 384 + 256) + 3 * 3 * 256 * z + z
    g = z * 16 * 8 * gf + 25 * (8 * gf * 4 * gf + 4 * gf * 2 * gf + 2 * gf * gf + gf * 3) + 3 + 2 * 15 * gf
    d = 25 * (3 * df + df * 2 * df + 2 * df * 4 * df + 4 * df * 8 * df) + df + 2 * 14 * df + z * 15 * df + z \
        + 16 * 8 * df + 1
    bn = 2 * (96 + 256 + 384 + 384 + 256) + 2 * 15 * gf + 2 * 14 * df
    return {"trainable": e + g + d, "total": e + g + d + bn}


register("bigan_alexnet", builder="zoo.models.bigan.bigan_alexnet:bigan_alexnet", family="bigan", paper=PAPER,
         section="§5.3.3, App. 5.5.3.2 (ImageNet; Tables 5.2, 5.3)", task="bigan", input_contract=IMAGENET_64,
         paper_numbers={"latent": "U(-1, 1)^200", "image_size": 64, "generalized_encoder_size": 112,
                        "init_std": 0.02, "z_to_5x5_conv_init_std": 0.5,
                        "table_5_2_top1_conv1_to_conv5": (56.2, 54.4, 49.4, 43.9, 33.3),
                        "table_5_3_voc07_cls_fc8_fc6-8_all": (37.5, 48.7, 58.9)},
         parameters=_alexnet_counts())


IMAGENET_227 = InputContract(shape=(227, 227, 3), kind="image", channel_order="RGB", mean=(127.5,) * 3,
                             std=(127.5,) * 3, note="RGB scaled to [-1, 1] (the release's transfer prototxt: mean "
                                                    "127.5, scale 1/127.5, 227 crops)")

register("bigan_alexnet_transfer", builder="zoo.models.bigan.transfer:bigan_alexnet_transfer", family="bigan",
         paper=PAPER, section="§5.3.3, Tables 5.2 / 5.3 (the release's alexnet_train_nolrn_lrelu.prototxt)",
         task="classification", input_contract=IMAGENET_227, head_layers=("fc8",),
         paper_numbers={"table_5_2_top1_frozen_through_conv1_to_conv5": (56.2, 54.4, 49.4, 43.9, 33.3),
                        "table_5_3_voc07_cls_fc8_fc6-8_all": (37.5, 48.7, 58.9), "table_5_3_frcn_det_all": 46.2,
                        "table_5_3_fcn_seg_all": 34.9},
         parameters={"total": 60_965_224})


def _release_counts(z=200, s=64):
    """The release's E (alexnet_group_padpool, no conv bias, BN with gain and bias on conv2..5, fc_z without
    bias), G (deconvnet_64) and D (convnet_64 with z added on conv2..4); BN moving statistics: 2 per channel."""
    e_bn = 256 + 384 + 384 + 256
    e = 96 * 3 * 121 + 256 * 48 * 25 + 384 * 256 * 9 + 384 * 192 * 9 + 256 * 192 * 9 + 2 * e_bn + 256 * 16 * z
    g_widths = (8 * s, 4 * s, 2 * s, s)
    g_bn = 8 * s * 16 + sum(g_widths[1:])
    g_convs = sum(25 * a * b for a, b in zip(g_widths, g_widths[1:] + (3,)))
    g = z * 8 * s * 16 + g_convs + z * sum(g_widths[1:]) + 2 * g_bn
    d_widths = (3, s, 2 * s, 4 * s, 8 * s)
    d_bn = sum(d_widths[2:])
    d = sum(25 * a * b for a, b in zip(d_widths, d_widths[1:])) + z * d_bn + 2 * d_bn + 8 * s * 16
    return {"trainable": e + g + d, "total": e + g + d + 2 * (e_bn + g_bn + d_bn)}


RELEASE_ZIP = WeightsSpec(
    tag="imagenet", url="https://people.eecs.berkeley.edu/~jdonahue/pretrained_bigan_weights.zip", file_hash=None,
    format="bigan_jl",
    source="jeffdonahue/bigan README, 'Pretrained weights' (a 530 MB zip; no hash published, so the download is "
           "unverified). It holds E, G, D of the standard (encoder_size=64) and the generalized (encoder_size=112) "
           "BiGAN at epoch 100, full ImageNet",
    license="UC Berkeley copyright notice of the repository (educational, research and not-for-profit use)",
    preprocessing=IMAGENET_64,
    metrics={"released: README, generalized BiGAN, VOC07 classification fc6-fc8, 10-crop test mAP (thesis Table "
                 "5.3: 52.5)": {"mAP": 52.8}})

register("bigan_alexnet_release", builder="zoo.models.bigan.release:bigan_alexnet_release", family="bigan",
         paper=PAPER, section="§5.3.3, App. 5.5.3.2 as jeffdonahue/bigan builds it (train_imagenet.sh, net.py)",
         task="bigan", input_contract=IMAGENET_64,
         paper_numbers={"latent": "U(-1, 1)^200", "image_size": 64, "generalized_encoder_size": 112},
         parameters=_release_counts(), weights=(RELEASE_ZIP,))
