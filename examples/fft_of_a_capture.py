# title: FFT of a capture
# description: Captures a 2 kHz sine from SI1 on CH1 and computes its spectrum with numpy's FFT; the peak sits at the generator's frequency.
# level: intermediate
import numpy as np

set_sine1(2000)
timegap = 4.0
x, y = capture1('CH1', 2000, timegap)
spectrum = np.abs(np.fft.rfft(y - np.mean(y)))
freqs = np.fft.rfftfreq(len(y), timegap * 1e-6)
peak = freqs[np.argmax(spectrum)]
plot(freqs[:200] / 1000, spectrum[:200], name='spectrum', labels=['CH1'],
     x_label='Frequency (kHz)', y_label='Amplitude')
print('peak at %.0f Hz' % peak)
