# title: Frequency response
# description: Sweeps the sine on SI1 from 100 Hz to 500 kHz and measures its peak-to-peak amplitude on CH1: flat at low frequencies, falling where the waveform generator's output rolls off.
# level: intermediate
import numpy as np

freqs = [100, 300, 1000, 3000, 10000, 30000, 100000, 300000, 500000]
amplitudes = []
for f in freqs:
    set_sine1(f)
    timegap = max(0.5, 1e6 / f / 100)
    x, y = capture1('CH1', 1000, timegap)
    amplitudes.append(np.max(y) - np.min(y))
plot(np.log10(freqs), amplitudes, name='response', labels=['CH1'],
     x_label='Frequency: 10^x Hz', y_label='Peak to peak (V)')
print('amplitudes (V): ' + ', '.join(['%.2f' % a for a in amplitudes]))
