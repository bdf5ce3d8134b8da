# bash completion for containerctl: commands and their options from containerctl's own help texts
# (containerctl __complete commands | options COMMAND), so a new command needs nothing here, and
# container names asked from the daemon (containerctl list --names, on the bus given with --bus or
# CONTAINERCTL_BUS, of the host given with -H or CONTAINERCTL_HOST).
_containerctl() {
  local cur prev words cword
  _init_completion 2>/dev/null || { cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]}; words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD; }
  local target=() command="" i
  for ((i = 1; i < cword; i++)); do
    case ${words[i]} in
      --bus|-H|--host|--ssh-config) target+=("${words[i]}" "${words[i+1]}"); ((i++)) ;;
      -*) ;;
      *) [[ -z $command ]] && command=${words[i]} ;;
    esac
  done
  if [[ $prev == --bus ]]; then COMPREPLY=($(compgen -W "system session" -- "$cur")); return; fi
  if [[ $prev == -H || $prev == --host ]]; then COMPREPLY=($(compgen -A hostname -- "$cur")); return; fi
  if [[ $prev == --ssh-config ]]; then COMPREPLY=($(compgen -f -- "$cur")); return; fi
  if [[ -z $command ]]; then COMPREPLY=($(compgen -W "$(containerctl __complete commands 2>/dev/null) --bus -H --ssh-config --help" -- "$cur")); return; fi
  case $prev in
    -f|--file|--nix|-o|--output) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    -s|--sort) COMPREPLY=($(compgen -W "cpu memory tasks io" -- "$cur")); return ;;
    --system|--flake) COMPREPLY=($(compgen -d -- "$cur")); return ;;
  esac
  if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "$(containerctl __complete options "$command" 2>/dev/null)" -- "$cur")); return; fi
  case $command in
    list|jobs|create|top|metrics) ;;
    cancel) COMPREPLY=($(compgen -W "$(containerctl "${target[@]}" jobs 2>/dev/null | awk 'NR > 1 && $1 ~ /^[0-9]+$/ { print $1 }')" -- "$cur")) ;;
    *) COMPREPLY=($(compgen -W "$(containerctl "${target[@]}" list --names 2>/dev/null)" -- "$cur")) ;;
  esac
}
complete -F _containerctl containerctl
