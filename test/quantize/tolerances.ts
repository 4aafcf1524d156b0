// Error tolerances per precision, chosen by measurement (quantizeModel with 10 random calibration
// samples on the models of models.ts, December 2026, this machine), each with a margin of ~7 dB
// below the worst value measured so that a real regression fails and noise does not:
//   INT8 static (uint8 activations, 8-bit weights): output SQNR 32.1 dB resnet_tiny, 43.3 dB warp_net,
//     39.7 dB mlp_attention (7-bit weights: 33.5, 49.1, 35.7 — this CPU has no VNNI, see weightBitsNote)
//   INT8 dynamic: 28.9 dB mlp_attention with 8-bit weights (saturating: no VNNI), 39.3 dB with the 7-bit
//     default of such CPUs; recurrent_net (LSTM) 32.2 / 37.7 dB; branchy_net (If) 32.5 / 36.2 dB
//   FP16 (keep-io-types): 61.5 dB resnet_tiny, 67.5 dB warp_net, 75.7 dB mlp_attention
export const INT8_SQNR_MIN_DB = 25;
export const INT8_DYNAMIC_SQNR_MIN_DB = 22;
export const FP16_SQNR_MIN_DB = 50;
